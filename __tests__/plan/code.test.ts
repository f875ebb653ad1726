/** The plan's own code in the DR bucket, and back, against a real S3-protocol server (moto). */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { oneLineError, runDrp } from "../harness/cli";
import { startMoto, type MotoServer } from "../harness/moto";

const BUCKET = "drp-code-test";
let moto: MotoServer;
let work: string;
let repo: string;
let head: string;

beforeAll(async () => {
  moto = await startMoto();
  await moto.createBucket(BUCKET);
  work = mkdtempSync(join(tmpdir(), "drp-code-"));
  repo = join(work, "repo");
  mkdirSync(repo);
  const g = (...a: string[]) => execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", ...a], { encoding: "utf8" }).trim();
  g("init", "-q", "-b", "main");
  writeFileSync(join(repo, "main.ts"), "// v1\n");
  g("add", ".");
  g("commit", "-qm", "one");
  writeFileSync(join(repo, "main.ts"), "// v2\n");
  g("commit", "-qam", "two");
  head = g("rev-parse", "HEAD");
  mkdirSync(join(work, "stacks", "edge"), { recursive: true });
  writeFileSync(join(work, "stacks", "edge", "cdk.tf.json"), '{"resource":{}}');
}, 60_000);
afterAll(async () => {
  await moto.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("drp code", () => {
  it("backs up every ref and the stacks with a manifest, and gets them back verified", async () => {
    const b = await runDrp(["code", "backup", "--bucket", BUCKET, "--repo", repo, "--stacks", join(work, "stacks"), "--json"]);
    expect(b.code).toBe(0);
    const { dir, manifest } = JSON.parse(b.stdout) as { dir: string; manifest: { commit: string; files: { name: string }[] } };
    expect(dir).toMatch(new RegExp(`^code/\\d{8}T\\d{6}Z-${head.slice(0, 12)}/$`));
    expect(manifest.commit).toBe(head);
    expect(manifest.files.map((f) => f.name)).toEqual(["repo.bundle", "stacks.tar.gz"]);
    expect(await moto.listKeys(BUCKET, dir)).toEqual(expect.arrayContaining([`${dir}repo.bundle`, `${dir}stacks.tar.gz`, `${dir}manifest.json`]));

    const to = join(work, "restored");
    const r = await runDrp(["code", "restore", "--bucket", BUCKET, "--to", to, "--json"]);
    expect(r.code).toBe(0);
    expect(execFileSync("git", ["-C", join(to, "repo"), "rev-parse", "HEAD"], { encoding: "utf8" }).trim()).toBe(head);
    expect(readFileSync(join(to, "repo", "main.ts"), "utf8")).toBe("// v2\n");
    expect(existsSync(join(to, "stacks", "edge", "cdk.tf.json"))).toBe(true);
  });

  it("refuses a bundle whose bytes no longer match its manifest", async () => {
    const b = await runDrp(["code", "backup", "--bucket", BUCKET, "--repo", repo, "--json"]);
    const { dir } = JSON.parse(b.stdout) as { dir: string };
    await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}repo.bundle`, Body: "not a bundle" }));
    const r = await runDrp(["code", "restore", "--bucket", BUCKET, "--to", join(work, "tampered"), "--dir", dir]);
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toMatch(/repo\.bundle does not match its manifest/);
  });

  it("is what the workflow on main runs: OIDC role, whole history, synthesized stacks, options drp knows", () => {
    const wf = readFileSync(join(__dirname, "..", "..", ".github", "workflows", "code-backup.yml"), "utf8");
    expect(wf).toMatch(/branches: \[main\]/);
    expect(wf).toMatch(/id-token: write/);
    expect(wf).toMatch(/fetch-depth: 0/);
    expect(wf).toMatch(/run: npx cdktf synth\n/);
    const line = wf.split("\n").find((l) => l.includes("npx drp code backup"))!;
    const used = [...line.matchAll(/ (--[a-z-]+)/g)].map((m) => m[1]);
    const { buildProgram } = require("../../scripts/drp") as typeof import("../../scripts/drp");
    const backup = buildProgram().commands.find((c) => c.name() === "code")!.commands.find((c) => c.name() === "backup")!;
    const known = backup.options.map((o) => o.long);
    expect(used).toEqual(["--bucket", "--stacks", "--json"]);
    for (const flag of used) expect(known).toContain(flag);
  });

  it("names the missing bucket in one line, exit 2", async () => {
    const r = await runDrp(["code", "backup", "--repo", repo], { DRP_DR_BUCKET: undefined });
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/no bucket: pass --bucket or set DRP_DR_BUCKET/);
  });
});
