/** The cdktf app as the CLI runs it: a child process reading CDKTF_CONTEXT_JSON and DRP_CONFIG. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
let outdir: string;
beforeEach(() => (outdir = mkdtempSync(join(tmpdir(), "drp-app-"))));
afterEach(() => rmSync(outdir, { recursive: true, force: true }));

function runApp(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "main.ts"], {
    cwd: root,
    env: { ...process.env, CDKTF_OUTDIR: outdir, CDKTF_CONTEXT_JSON: "", ...env },
    encoding: "utf8",
  });
  return { status: r.status, stderr: r.stderr, stacks: () => Object.keys(JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")).stacks).sort() };
}

describe("the cdktf app", () => {
  it("synthesizes every stack by default", () => {
    const r = runApp({});
    expect(r.stderr).toBe("");
    expect(r.stacks()).toEqual(["backup-check", "compute-primary", "compute-secondary", "edge", "export", "monitoring", "secrets", "state", "storage"]);
  });

  it("stops on an error a construct throws, with one line naming the construct path and the fix, exit 2", () => {
    const config = JSON.parse(readFileSync(join(root, "config/drp.config.json"), "utf8"));
    config.project = "a-thirty-one-character-project1";
    const file = join(outdir, "long.json");
    writeFileSync(file, JSON.stringify(config));
    const r = runApp({ DRP_CONFIG: file });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'drp synth: compute-primary/app: load balancer name "a-thirty-one-character-project1-primary-alb" is 43 characters, over AWS\'s limit of 32; shorten name (made from the configuration\'s project) by 11\n',
    );
  });

  it("leaves no output that looks current when a synth fails after a good one", () => {
    expect(runApp({}).status).toBe(0);
    const stackFile = join(outdir, "stacks", "edge", "cdk.tf.json");
    expect(existsSync(stackFile)).toBe(true);
    const r = runApp({ CDKTF_CONTEXT_JSON: JSON.stringify({ maintenance: "maybe" }) });
    expect(r.status).toBe(2);
    expect(existsSync(join(outdir, "manifest.json"))).toBe(false);
    expect(existsSync(stackFile)).toBe(false);
  });

  it("stops before synthesizing anything on a bad context value, naming the valid ones", () => {
    const r = runApp({ CDKTF_CONTEXT_JSON: JSON.stringify({ region: "us-east-2" }) });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('drp synth: context region="us-east-2" is not valid; use region=primary or region=secondary\n');
    expect(() => r.stacks()).toThrow(/ENOENT/);
  });

  it("adds the chaos stack with -c chaos=on, policies passing, its template ids as outputs", () => {
    const r = runApp({ CDKTF_CONTEXT_JSON: JSON.stringify({ chaos: "on" }) });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stacks()).toEqual(["backup-check", "chaos", "compute-primary", "compute-secondary", "edge", "export", "monitoring", "secrets", "state", "storage"]);
    const chaos = JSON.parse(readFileSync(join(outdir, "stacks", "chaos", "cdk.tf.json"), "utf8"));
    expect(Object.keys(chaos.output).sort()).toEqual(["fis-template-ai-latency", "fis-template-comment-spike", "fis-template-payment-down", "fis-template-webhook-disconnect"]);
  });

  it("refuses chaos=on while failed over, before synthesizing anything", () => {
    const r = runApp({ CDKTF_CONTEXT_JSON: JSON.stringify({ chaos: "on", region: "secondary" }) });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "drp synth: context chaos=on cannot be combined with region=secondary: no experiment runs while failed over; fail back first (region=primary), then deploy chaos\n",
    );
    expect(() => r.stacks()).toThrow(/ENOENT/);
  });

  it("stops on an invalid configuration, listing every field to fix", () => {
    const bad = JSON.parse(readFileSync(join(root, "config/drp.config.json"), "utf8"));
    bad.app.cpu = 300;
    delete bad.edge.zoneId;
    const file = join(outdir, "bad.json");
    writeFileSync(file, JSON.stringify(bad));
    const r = runApp({ DRP_CONFIG: file });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`drp synth: invalid configuration in ${file}:`);
    expect(r.stderr).toContain("  edge.zoneId:");
    expect(r.stderr).toContain("  app.cpu: must be a Fargate CPU size: 256, 512, 1024, 2048 or 4096");
  });
});

describe("the real cdktf CLI on this app", () => {
  it("reports an invalid context once, as the app words it, with the app's exit code 2", () => {
    const rc = join(outdir, "terraformrc");
    writeFileSync(rc, "");
    const r = spawnSync("npx", ["cdktf", "synth", "-c", "region=us-east-2", "--output", join(outdir, "out")], {
      cwd: root,
      env: { ...process.env, CDKTF_CONTEXT_JSON: "", CI: "1", TF_CLI_CONFIG_FILE: rc },
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('drp synth: context region="us-east-2" is not valid; use region=primary or region=secondary\n');
    expect(r.stdout).not.toContain("drp synth");
  });

  it("fails over with -c region=secondary: writes only the failover stacks, the secondary serving", () => {
    const r = spawnSync("npx", ["cdktf", "synth", "-c", "region=secondary", "--output", outdir], {
      cwd: root,
      env: { ...process.env, CDKTF_CONTEXT_JSON: "", CI: "1" },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.stacks).sort()).toEqual(["compute-secondary", "edge"]);
    const compute = JSON.parse(readFileSync(join(outdir, manifest.stacks["compute-secondary"].synthesizedStackPath), "utf8"));
    expect(Object.values(compute.resource.aws_ecs_service as Record<string, { desired_count: number }>)[0].desired_count).toBe(2);
  });
});
