/**
 * Daily backup assurance against real servers: moto (DR bucket with Object Lock, the files bucket and its
 * replication rule), PostgreSQL + pg_dump for a real export, a local Supabase Management API and a real
 * git checkout for the code bundle. Each broken promise must fail with its own line.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutBucketReplicationCommand, PutBucketVersioningCommand, PutObjectCommand, CreateBucketCommand } from "@aws-sdk/client-s3";
import { loadConfig, type DrpConfig } from "../../constructs/config";
import { checkBackups, formatResults, replicationCounts, type CheckResult } from "../../scripts/backups/check";
import { exportDatabase } from "../../scripts/data/export";
import { connectionFromUrl } from "../../scripts/data/connection";
import { verifyExport } from "../../scripts/data/verify";
import { supabaseApi } from "../../scripts/data/supabase-api";
import { startMoto, type MotoServer } from "../harness/moto";
import { startPostgres, type PgServer } from "../harness/postgres";
import { startFakeSupabase, type FakeSupabase } from "../harness/supabase-api";
import { oneLineError, runDrp } from "../harness/cli";

const DR = "dr-fresh";
const HOUR = 3_600_000;
let moto: MotoServer;
let pg: PgServer;
let api: FakeSupabase;
let manifestKey: string;
let repo: string;
let tmp: string;
const base = loadConfig();
const config = (files = "files-ok"): DrpConfig => ({ ...base, files: { ...base.files, bucket: files }, assurance: { ...base.assurance, supabaseProjectRef: api.ref } });

function gitRepo(dir: string, committedAt: string): string {
  const env = { ...process.env, GIT_AUTHOR_DATE: committedAt, GIT_COMMITTER_DATE: committedAt, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" };
  execFileSync("git", ["init", "-q", "-b", "main", dir]);
  writeFileSync(join(dir, "main.ts"), "// stacks\n");
  execFileSync("git", ["-C", dir, "add", "."], { env });
  execFileSync("git", ["-C", dir, "commit", "-q", "-m", "stacks"], { env });
  return execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
}

async function putCodeBundle(bucket: string, createdAt: Date, commit: string): Promise<void> {
  const stamp = createdAt.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const dir = `code/${stamp}-${commit.slice(0, 12)}/`;
  await moto.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${dir}repo.bundle`, Body: "bundle" }));
  const manifest = {
    format: 1,
    commit,
    committedAt: createdAt.toISOString(),
    createdAt: createdAt.toISOString(),
    files: [{ name: "repo.bundle", key: `${dir}repo.bundle`, bytes: 6, sha256: "a".repeat(64) }],
  };
  await moto.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${dir}manifest.json`, Body: JSON.stringify(manifest) }));
}

async function filesBucket(name: string, rule?: "Enabled" | "Disabled"): Promise<void> {
  await moto.s3.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: "us-west-2" } }));
  await moto.s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Enabled" } }));
  await moto.s3.send(new PutObjectCommand({ Bucket: name, Key: "img/a.jpg", Body: "jpeg" }));
  if (rule)
    await moto.s3.send(
      new PutBucketReplicationCommand({
        Bucket: name,
        ReplicationConfiguration: {
          Role: "arn:aws:iam::123456789012:role/files-replication",
          Rules: [{ ID: "files-to-dr", Status: rule, Priority: 1, Filter: { Prefix: "" }, DeleteMarkerReplication: { Status: "Disabled" }, Destination: { Bucket: `arn:aws:s3:::${DR}` } }],
        },
      }),
    );
}

const healthySupabase = (now: number) => ({
  backups: {
    region: "sa-east-1",
    walg_enabled: true,
    pitr_enabled: true,
    backups: [
      { status: "COMPLETED", is_physical_backup: true, inserted_at: new Date(now - 30 * HOUR).toISOString() },
      { status: "COMPLETED", is_physical_backup: true, inserted_at: new Date(now - 2 * HOUR).toISOString() },
    ],
    physical_backup_data: { earliest_physical_backup_date_unix: Math.floor((now - 6 * 24 * HOUR) / 1000), latest_physical_backup_date_unix: Math.floor((now - 120_000) / 1000) },
  },
  addons: { selected_addons: [{ type: "pitr", variant: { id: "pitr_7", name: "7 days" } }], available_addons: [] },
});

const run = (opts: { bucket?: string; files?: string; now?: Date; repo?: boolean; deep?: boolean } = {}) =>
  checkBackups({
    config: config(opts.files),
    s3: moto.s3,
    filesS3: moto.s3,
    bucket: opts.bucket ?? DR,
    supabase: supabaseApi(api.url, api.token),
    now: opts.now,
    repo: opts.repo === false ? undefined : { dir: repo, ref: "main" },
    verify: opts.deep ? async (uri) => `sha256 ${(await verifyExport({ s3: moto.s3, uri })).sha256}` : undefined,
  });
const byId = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.id, r]));
const brokenLines = (results: CheckResult[]) => formatResults(results).split("\n").filter((l) => l.startsWith("BROKEN"));

beforeAll(async () => {
  [moto, pg, api] = await Promise.all([startMoto(), startPostgres(), startFakeSupabase()]);
  tmp = mkdtempSync(join(tmpdir(), "drp-backups-"));
  await moto.createBucket(DR);
  const url = await pg.createDatabase("shop");
  await pg.sql("shop", "CREATE TABLE orders (id int PRIMARY KEY, total numeric); INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 200) g;");
  const exported = await exportDatabase({ s3: moto.s3, bucket: DR, prefix: "exports/", criticalTables: ["orders"], db: connectionFromUrl(url) });
  manifestKey = exported.manifestUri.replace(`s3://${DR}/`, "");
  repo = join(tmp, "repo");
  const commit = gitRepo(repo, new Date(Date.now() - 3 * HOUR).toISOString());
  await putCodeBundle(DR, new Date(Date.now() - HOUR), commit);
  await Promise.all([filesBucket("files-ok", "Enabled"), filesBucket("files-off", "Disabled"), filesBucket("files-none")]);
}, 120_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), pg?.stop(), api?.stop()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  Object.assign(api.state, healthySupabase(Date.now()));
});

describe("drp backups check", () => {
  it("keeps every promise when everything is fresh, and says what it found", async () => {
    const results = await run({ deep: true });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const r = byId(results);
    expect(Object.keys(r)).toEqual([
      "supabase.pitr",
      "supabase.daily-backup",
      "supabase.recovery-point",
      "export.newest",
      "export.dump",
      "export.verify",
      "files.replication-rule",
      "files.replication-status",
      "code.bundle",
    ]);
    expect(r["supabase.pitr"].value).toBe("enabled, 7 days");
    expect(r["supabase.daily-backup"]).toMatchObject({ value: 0, limit: 26, unit: "hours", fix: null });
    expect(r["export.newest"].limit).toBe(8);
    expect(r["export.dump"].value).toMatch(/^\d+ bytes at version .+, GOVERNANCE until /);
    expect(r["export.verify"].value).toMatch(/^sha256 [0-9a-f]{64}$/);
    expect(r["files.replication-rule"].value).toBe("files-to-dr Enabled");
    // moto does not report per-object replication status; the check says so rather than inventing one.
    expect(r["files.replication-status"].value).toBe("not reported by S3 for the 1 newest objects");
    expect(r["code.bundle"].limit).toMatch(/^main [0-9a-f]{12} committed /);
  });

  it("names a disabled PITR, and the recovery window it takes away, each on its own line", async () => {
    api.state.backups = { ...(api.state.backups as object), pitr_enabled: false, physical_backup_data: null };
    api.state.addons = { selected_addons: [], available_addons: [] };
    const lines = brokenLines(await run());
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^BROKEN {2}supabase\.pitr: disabled \(limit enabled, 7 days\); .*fix: enable the Point-in-Time Recovery add-on with 7 days/);
    expect(lines[1]).toMatch(/^BROKEN {2}supabase\.recovery-point: none .*no recovery window: PITR is disabled; fix: /);
  });

  it("refuses a PITR add-on shorter or longer than the configured retention", async () => {
    api.state.addons = { selected_addons: [{ type: "pitr", variant: { id: "pitr_14" } }] };
    const r = byId(await run());
    expect(r["supabase.pitr"]).toMatchObject({ ok: false, value: "enabled, pitr_14", limit: "enabled, 7 days" });
  });

  it("fails a stale daily backup and a stale recovery point with their ages", async () => {
    const now = Date.now();
    api.state.backups = { ...healthySupabase(now).backups, backups: [{ status: "COMPLETED", inserted_at: new Date(now - 30 * HOUR).toISOString() }], physical_backup_data: { latest_physical_backup_date_unix: Math.floor((now - 30 * HOUR) / 1000) } };
    const r = byId(await run());
    expect(r["supabase.daily-backup"]).toMatchObject({ ok: false, value: 30, limit: 26, unit: "hours" });
    expect(r["supabase.recovery-point"]).toMatchObject({ ok: false, value: 1800, limit: 30, unit: "minutes" });
    expect(r["supabase.daily-backup"].fix).toMatch(/has not completed a daily backup/);
  });

  it("fails missing daily backups: failed ones do not count", async () => {
    // Without PITR only the listed backups count.
    api.state.backups = { ...healthySupabase(Date.now()).backups, pitr_enabled: false, backups: [{ status: "FAILED", inserted_at: new Date().toISOString() }] };
    api.state.addons = { selected_addons: [] };
    const lines = brokenLines(await run()).filter((l) => l.includes("daily-backup"));
    expect(lines).toEqual([expect.stringMatching(/^BROKEN {2}supabase\.daily-backup: none \(limit 26 hours\); no completed backup listed; fix: /)]);
  });

  it("counts PITR's latest recovery point as the daily backup when PITR replaces daily backups", async () => {
    api.state.backups = { ...healthySupabase(Date.now()).backups, backups: [] };
    const r = byId(await run());
    expect(r["supabase.daily-backup"]).toMatchObject({ ok: true, value: 0, detail: expect.stringMatching(/^latest PITR recovery point \(PITR replaces daily backups\) /) });
  });

  it("fails a stale weekly export (and a bundle gone stale with it) on the ninth day", async () => {
    const now = new Date(Date.now() + 9 * 24 * HOUR);
    Object.assign(api.state, healthySupabase(now.getTime()));
    const r = byId(await run({ now, repo: false }));
    expect(r["export.newest"]).toMatchObject({ ok: false, limit: 8, unit: "days" });
    expect(r["export.newest"].value).toBeGreaterThan(8.9);
    expect(r["export.newest"].fix).toMatch(/^run the weekly export now/);
    expect(r["code.bundle"]).toMatchObject({ ok: false, limit: 8, unit: "days" });
    expect(r["export.dump"].ok).toBe(true);
  });

  it("fails a missing dump and an altered one, named separately from the export's age", async () => {
    const m = JSON.parse(await (await moto.s3.send(new GetObjectCommand({ Bucket: DR, Key: manifestKey }))).Body!.transformToString());
    await moto.createBucket("dr-missing");
    const dir = "exports/shop/9999-01-01T00-00-00Z/";
    const moved = { ...m, objects: { ...m.objects, bucket: "dr-missing", manifestKey: `${dir}manifest.json`, dumpKey: `${dir}db.dump` } };
    await moto.s3.send(new PutObjectCommand({ Bucket: "dr-missing", Key: `${dir}manifest.json`, Body: JSON.stringify(moved) }));
    const missing = byId(await run({ bucket: "dr-missing", repo: false }));
    expect(missing["export.newest"].ok).toBe(true);
    expect(missing["export.dump"]).toMatchObject({ ok: false, value: "missing" });

    await moto.createBucket("dr-altered", { objectLock: false });
    const unpinned = { ...moved, objects: { ...moved.objects, bucket: "dr-altered" }, dump: { ...moved.dump, versionId: null } };
    await moto.s3.send(new PutObjectCommand({ Bucket: "dr-altered", Key: `${dir}manifest.json`, Body: JSON.stringify(unpinned) }));
    await moto.s3.send(new PutObjectCommand({ Bucket: "dr-altered", Key: `${dir}db.dump`, Body: "short" }));
    const altered = byId(await run({ bucket: "dr-altered", repo: false }));
    expect(altered["export.dump"]).toMatchObject({ ok: false, value: "5 bytes, lock mode none, retained until never" });
  });

  it("treats an empty DR bucket as broken promises: no export, no code bundle, each with its fix", async () => {
    await moto.createBucket("dr-empty");
    const lines = brokenLines(await run({ bucket: "dr-empty", files: "files-none" }));
    const ids = lines.map((l) => l.split(/\s+/)[1]);
    expect(ids).toEqual(["export.newest:", "export.dump:", "files.replication-rule:", "code.bundle:"]);
    expect(lines[0]).toMatch(/no complete export \(no manifest\.json\) under s3:\/\/dr-empty\/exports\/; fix: run the weekly export now/);
    expect(lines[2]).toMatch(/files\.replication-rule: missing .*fix: deploy the storage stack/);
    expect(lines[3]).toMatch(/code\.bundle: none .*"infrastructure code backed up to S3" is broken: no complete bundle under s3:\/\/dr-empty\/code\/; fix: back up the infrastructure code now/);
  });

  it("fails a disabled replication rule", async () => {
    const r = byId(await run({ files: "files-off" }));
    expect(r["files.replication-rule"]).toMatchObject({ ok: false, value: "files-to-dr Disabled", limit: "Enabled" });
    expect(r["files.replication-status"].ok).toBe(true);
  });

  it("reads each bucket in its own region", async () => {
    const { createS3Client } = await import("../../scripts/lib/s3");
    const files = createS3Client({ ...process.env, AWS_REGION: base.files.region });
    expect(await files.config.region()).toBe(base.files.region);
    files.destroy();
  });

  it("counts FAILED and PENDING replication where S3 reports it", () => {
    expect(replicationCounts(["COMPLETED", "FAILED", "PENDING", undefined, "REPLICA", "PENDING"])).toEqual({ reported: 5, pending: 2, failed: 1 });
  });

  it("fails a code bundle older than the newest commit on main", async () => {
    const newer = join(tmp, "newer");
    gitRepo(newer, new Date(Date.now() + 60_000).toISOString());
    const r = await checkBackups({ config: config(), s3: moto.s3, filesS3: moto.s3, bucket: DR, supabase: supabaseApi(api.url, api.token), repo: { dir: newer, ref: "main" } });
    expect(byId(r)["code.bundle"]).toMatchObject({ ok: false, fix: expect.stringMatching(/^back up the infrastructure code now/) });
  });

  it("an unreachable Supabase API is a broken promise too, not a pass", async () => {
    const r = byId(await checkBackups({ config: config(), s3: moto.s3, filesS3: moto.s3, bucket: DR, supabase: supabaseApi("http://127.0.0.1:9", api.token, 2000) }));
    expect(r["supabase.pitr"]).toMatchObject({ ok: false, value: null, fix: expect.stringMatching(/SUPABASE_ACCESS_TOKEN/) });
    expect(r["supabase.pitr"].detail).toMatch(/^could not check: Supabase API GET .* unreachable/);
  });
});

describe("drp backups check (CLI)", () => {
  let configFile: string;
  beforeAll(() => {
    configFile = join(tmp, "drp.config.json");
    writeFileSync(configFile, JSON.stringify(config()));
  });
  const env = () => ({ ...moto.env, AWS_REGION: "us-west-2", SUPABASE_ACCESS_TOKEN: api.token, SUPABASE_API_URL: api.url, DRP_CONFIG: configFile, DRP_EXPORT_BUCKET: undefined });

  it("exits 0 with one JSON object per check when every promise holds", async () => {
    const r = await runDrp(["backups", "check", "--bucket", DR, "--repo", repo, "--json"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    for (const c of out.checks) expect(Object.keys(c)).toEqual(expect.arrayContaining(["id", "ok", "value", "limit", "fix"]));
    expect(out.checks.map((c: { id: string }) => c.id)).not.toContain("export.verify");
  });

  it("with --deep also verifies the newest export in full", async () => {
    const r = await runDrp(["backups", "check", "--bucket", DR, "--deep", "--json"], env());
    expect(r.code).toBe(0);
    const verify = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === "export.verify");
    expect(verify).toMatchObject({ ok: true, value: expect.stringMatching(/^sha256 [0-9a-f]{64}, \d+ TOC entries$/) });
  });

  it("exits 1 naming each broken promise, with the fixes on stdout", async () => {
    api.state.backups = { ...(api.state.backups as object), pitr_enabled: false };
    const r = await runDrp(["backups", "check", "--bucket", DR, "--repo", repo], env());
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toBe("drp: 2 backup promises broken: supabase.pitr, supabase.recovery-point");
    expect(r.stdout).toMatch(/^BROKEN {2}supabase\.pitr: disabled/m);
    expect(r.stdout).toMatch(/^ok {6}export\.newest: /m);
  });

  it("is bad input (exit 2) without a token, with a bad bucket, or with a checkout that has no main", async () => {
    const noToken = await runDrp(["backups", "check", "--bucket", DR], { ...env(), SUPABASE_ACCESS_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(oneLineError(noToken)).toMatch(/^drp: SUPABASE_ACCESS_TOKEN is not set/);
    const bucket = await runDrp(["backups", "check", "--bucket", "Not_A_Bucket"], env());
    expect(bucket.code).toBe(2);
    expect(oneLineError(bucket)).toBe('drp: DR bucket "Not_A_Bucket" is not a valid S3 bucket name; pass --bucket NAME');
    const noMain = await runDrp(["backups", "check", "--bucket", DR, "--repo", tmp], env());
    expect(noMain.code).toBe(2);
    expect(oneLineError(noMain)).toMatch(/^drp: cannot read main in .*; pass --repo DIR \(a checkout\) and --main-ref REF$/);
  });
});
