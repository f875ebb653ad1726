/**
 * The patched cdktf CLI (patches/cdktf-cli+0.21.0.patch), run for real as `cdktf` is by npx,
 * against the fixture app in __tests__/fixtures/context-app. Each test works in a temporary copy
 * of the fixture, so cdktf.out and Terraform state never land in the repository.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(__dirname, "../..");
const CDKTF = join(REPO, "node_modules/.bin/cdktf");
const FIXTURE = join(REPO, "__tests__/fixtures/context-app");
const DIGEST = `sha256:${"a".repeat(64)}`;

let scratch: string;
let copies = 0;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "cdktf-context-"));
  mkdirSync(join(scratch, "home"));
  writeFileSync(join(scratch, "terraformrc"), "");
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh copy of the fixture app, sharing the repository's node_modules. */
function project(): string {
  const dir = join(scratch, `app-${++copies}`);
  cpSync(FIXTURE, dir, { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with none of the caller's CDKTF_/telemetry settings, so the patch's defaults apply. */
function cdktf(dir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const inherited = Object.entries(process.env).filter(
    ([k]) => !k.startsWith("CDKTF_") && !["CHECKPOINT_DISABLE", "DISABLE_VERSION_CHECK", "TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR"].includes(k),
  );
  const child = spawn(process.execPath, [CDKTF, ...args], {
    cwd: dir,
    env: { ...Object.fromEntries(inherited), HOME: join(scratch, "home"), TF_CLI_CONFIG_FILE: join(scratch, "terraformrc"), FORCE_COLOR: "0", ...env },
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  // cdktf's terminal UI moves the cursor even when writing to a pipe.
  const plain = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (status) => {
      clearTimeout(killer);
      done({ status, stdout: plain(stdout), stderr: plain(stderr) });
    });
  });
}

function synthesizedStacks(dir: string, outdir = "cdktf.out"): string[] {
  return Object.keys(JSON.parse(readFileSync(join(dir, outdir, "manifest.json"), "utf8")).stacks).sort();
}

/** The outputs a synthesized stack declares, as their literal values. */
function synthesizedOutputs(dir: string, stack: string): Record<string, string> {
  const json = JSON.parse(readFileSync(join(dir, "cdktf.out/stacks", stack, "cdk.tf.json"), "utf8"));
  return Object.fromEntries(Object.entries(json.output as Record<string, { value: string }>).map(([k, o]) => [k, o.value]));
}

/** The outputs Terraform recorded in a stack's local state file after apply. */
function appliedOutputs(dir: string, stack: string): Record<string, string> {
  const state = JSON.parse(readFileSync(join(dir, "state", `${stack}.tfstate`), "utf8"));
  return Object.fromEntries(Object.entries(state.outputs as Record<string, { value: string }>).map(([k, o]) => [k, o.value]));
}

/** Stacks whose log contains text, in order; cdktf prefixes a log entry's first line with its stack. */
function stacksLogging(stdout: string, text: string): string[] {
  let stack = "";
  const found: string[] = [];
  for (const line of stdout.split("\n")) {
    stack = /^([\w-]+)  /.exec(line)?.[1] ?? stack;
    if (line.includes(text)) found.push(stack);
  }
  return found;
}

const contextSeen = (dir: string, stack: string) => JSON.parse(synthesizedOutputs(dir, stack).context);

describe("cdktf synth -c (patched CLI)", () => {
  // The three synths are independent: run them side by side, then check each.
  const dirs = { secondary: "", several: "", overridden: "" };
  const runs: Record<keyof typeof dirs, Run> = {} as Record<keyof typeof dirs, Run>;

  beforeAll(async () => {
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[k] = project();
    [runs.secondary, runs.several, runs.overridden] = await Promise.all([
      // CDKTF_HOME is a variable, not an option: the unknown-option check must not trip over it.
      cdktf(dirs.secondary, ["synth", "-c", "region=secondary"], { CDKTF_HOME: join(scratch, "home/.cdktf") }),
      cdktf(dirs.several, ["synth", "-c", "region=secondary", "--context", `image=${DIGEST}`, "-c", "maintenance=on"]),
      cdktf(dirs.overridden, ["synth", "-c", "region=secondary"], { CDKTF_CONTEXT_JSON: JSON.stringify({ region: "primary", maintenance: "on" }) }),
    ]);
  });

  it("passes -c region=secondary to the app, which synthesizes the failover stacks", () => {
    const dir = dirs.secondary;
    expect(runs.secondary.stderr).toBe("");
    expect(runs.secondary.status).toBe(0);
    expect(synthesizedStacks(dir)).toEqual(["cutover", "standby-db"]);
    expect(contextSeen(dir, "cutover")).toEqual({ region: "secondary" });
    expect(synthesizedOutputs(dir, "standby-db").region).toBe("secondary");
    // Telemetry stays off: with it on, cdktf rewrites cdktf.json to add a projectId.
    expect(readFileSync(join(dir, "cdktf.json"), "utf8")).toBe(readFileSync(join(FIXTURE, "cdktf.json"), "utf8"));
  });

  it("passes every -c flag when several are given", () => {
    expect(runs.several.status).toBe(0);
    expect(contextSeen(dirs.several, "standby-db")).toEqual({ region: "secondary", image: DIGEST, maintenance: "on" });
  });

  it("lets -c win over CDKTF_CONTEXT_JSON and keeps its other keys", () => {
    expect(runs.overridden.status).toBe(0);
    expect(synthesizedStacks(dirs.overridden)).toEqual(["cutover", "standby-db"]);
    expect(contextSeen(dirs.overridden, "cutover")).toEqual({ region: "secondary", maintenance: "on" });
  });

  it.each([
    [["-c", "region"], /-c "region" is malformed: use -c key=value, for example -c region=secondary/],
    [["-c", "region="], /-c "region=" is malformed: use -c key=value/],
    [["-c", "region=primary", "-c", "region=secondary"], /-c region is given twice: pass each context key once/],
  ])("rejects %j in one line before anything is synthesized", async (flags, message) => {
    const dir = project();
    const run = await cdktf(dir, ["synth", ...flags]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(dir, "cdktf.out"))).toBe(false);
  });

  it.each([
    [["synth", "--contxt", "region=secondary"], "Unknown argument: contxt"],
    [["deploy", "--regoin", "secondary", "--auto-approve"], "Unknown argument: regoin"],
    [["destroy", "cutover", "--auto-aprove", "--parallelizm", "2"], "Unknown arguments: auto-aprove, parallelizm ("],
  ])("rejects the unknown option in %j before anything is synthesized", async (args, message) => {
    const dir = project();
    const run = await cdktf(dir, args);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(existsSync(join(dir, "cdktf.out"))).toBe(false);
    expect(existsSync(join(dir, "state"))).toBe(false);
  });

  it("refuses a context key in cdktf.json, which would silently override -c", async () => {
    const dir = project();
    const config = JSON.parse(readFileSync(join(dir, "cdktf.json"), "utf8"));
    writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ ...config, context: {} }));
    const run = await cdktf(dir, ["synth", "-c", "region=secondary"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${join(dir, "cdktf.json")} has a "context" key, which silently overrides -c and CDKTF_CONTEXT_JSON: remove it`);
    expect(existsSync(join(dir, "cdktf.out"))).toBe(false);
  });

  it.each([
    ["a CDKTF_CONTEXT_JSON that is not JSON", ["synth", "-c", "region=secondary"], { CDKTF_CONTEXT_JSON: "region=secondary" }, "CDKTF_CONTEXT_JSON is not valid JSON"],
    ["-c with --skip-synth", ["deploy", "--skip-synth", "-c", "region=secondary"], {}, "-c has no effect with --skip-synth"],
  ])("refuses %s", async (_case, args, env, message) => {
    const dir = project();
    const run = await cdktf(dir, args, env);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(existsSync(join(dir, "cdktf.out"))).toBe(false);
  });

  it("documents -c in the help of the commands that run the app", async () => {
    const dir = project();
    const commands = ["synth", "deploy"];
    const runs = await Promise.all(commands.map((command) => cdktf(dir, [command, "--help"])));
    for (const run of runs) {
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/-c, --context\s+Context for the app as key=value \(repeatable\)/);
    }
  });
});

describe("cdktf deploy / diff / destroy without stack names (patched CLI)", () => {
  let dir: string;
  let provision: Run;
  let failover: Run;
  let primaryStateTimes: number[];
  let output: Run;
  let diff: Run;
  let destroy: Run;

  beforeAll(async () => {
    dir = project();
    provision = await cdktf(dir, ["deploy", "--auto-approve"]);
    primaryStateTimes = ["network", "serving"].map((s) => statSync(join(dir, "state", `${s}.tfstate`)).mtimeMs);
    failover = await cdktf(dir, ["deploy", "-c", "region=secondary", "--auto-approve", "--parallelism", "1", "--var", "operator=oncall", "--output", "cdktf.failover.out"]);
    // These three only read state (destroy stops at stack selection), each in its own output dir.
    [output, diff, destroy] = await Promise.all([
      cdktf(dir, ["output", "cutover", "standby-db", "--skip-synth", "--output", "cdktf.failover.out", "--outputs-file", "outputs.json"]),
      cdktf(dir, ["diff", "-c", "region=secondary", "--var", "operator=oncall"]),
      cdktf(dir, ["destroy", "-c", "region=secondary", "--auto-approve", "--output", "cdktf.destroy.out"]),
    ]);
  });

  it("plain deploy provisions every stack the app synthesizes by default", () => {
    expect(provision.status).toBe(0);
    expect(provision.stdout).toContain("cdktf deploy: no context; no stacks named, so deploying every synthesized stack in dependency order: network, serving");
    expect(appliedOutputs(dir, "network")).toMatchObject({ region: "primary", context: "{}", applied_by: "nobody" });
    expect(appliedOutputs(dir, "serving")).toMatchObject({ region: "primary", context: "{}" });
  });

  it("deploy -c region=secondary deploys exactly the failover stacks, each after the stacks it reads", () => {
    expect(failover.status).toBe(0);
    expect(failover.stdout).toContain(
      "cdktf deploy: context region=secondary; no stacks named, so deploying every synthesized stack in dependency order: standby-db, cutover",
    );
    expect(synthesizedStacks(dir, "cdktf.failover.out")).toEqual(["cutover", "standby-db"]);
    expect(appliedOutputs(dir, "standby-db")).toMatchObject({ region: "secondary", context: '{"region":"secondary"}', applied_by: "oncall" });
    // cutover reads standby-db's state: had it been applied first, its apply would have failed.
    expect(appliedOutputs(dir, "cutover")).toEqual({ region: "secondary", context: '{"region":"secondary"}', applied_by: "oncall", after: "standby-db" });
    // The primary stacks were not part of the failover deploy.
    expect(["network", "serving"].map((s) => statSync(join(dir, "state", `${s}.tfstate`)).mtimeMs)).toEqual(primaryStateTimes);
  });

  it("output reads the deployed failover stacks from the existing synth with --skip-synth", () => {
    expect(output.status).toBe(0);
    const outputs = JSON.parse(readFileSync(join(dir, "outputs.json"), "utf8"));
    expect(outputs["standby-db"]).toMatchObject({ region: "secondary", applied_by: "oncall" });
    expect(outputs.cutover).toMatchObject({ region: "secondary", after: "standby-db" });
  });

  it("diff -c region=secondary plans every synthesized stack in dependency order", () => {
    expect(diff.status).toBe(0);
    expect(diff.stdout).toContain("cdktf diff: context region=secondary; no stacks named, so diffing every synthesized stack in dependency order: standby-db, cutover");
    expect(stacksLogging(diff.stdout, "No changes. Your infrastructure matches the configuration.")).toEqual(["standby-db", "cutover"]);
  });

  it("destroy still requires stack names", () => {
    expect(destroy.status).toBe(1);
    expect(`${destroy.stdout}${destroy.stderr}`).toContain("Found more than one stack, please specify a target stack");
    expect(appliedOutputs(dir, "cutover").region).toBe("secondary");
    expect(appliedOutputs(dir, "standby-db").region).toBe("secondary");
  });
});
