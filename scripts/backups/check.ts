/**
 * `drp backups check`: every backup promise of the plan, checked where the backup lives, each reported as
 * { id, ok, value, limit, fix } so one broken promise is one line with its remedy. A check that cannot
 * run (API down, access denied) is a broken promise too: during a disaster it would be just as missing.
 */
import { execFile } from "node:child_process";
import { posix } from "node:path";
import { promisify } from "node:util";
import { GetBucketReplicationCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client, type _Object } from "@aws-sdk/client-s3";
import type { DrpConfig } from "../../constructs/config";
import { DrpError } from "../lib/cli";
import { describeS3Error, isS3NotFound, s3Uri } from "../lib/s3";
import { loadManifest, type LoadedManifest } from "../data/artifact";
import { DUMP_FILE, MANIFEST_FILE } from "../data/manifest";
import type { SupabaseApi } from "../data/supabase-api";
import { CODE_BUNDLE_DIR, CODE_MANIFEST_FILE, CODE_PREFIX, parseCodeManifest, type CodeManifest } from "./code-bundle";

export interface CheckResult {
  /** Stable id, e.g. supabase.pitr. */
  readonly id: string;
  readonly ok: boolean;
  /** What was found (an age, a status, a count), null when nothing was found. */
  readonly value: string | number | null;
  /** The promise it is held to. */
  readonly limit: string | number | null;
  readonly unit?: string;
  /** What to do when it is broken; null when ok. */
  readonly fix: string | null;
  /** One line describing what was checked. */
  readonly detail: string;
}

export interface BackupCheckOptions {
  readonly config: DrpConfig;
  /** Client for the DR bucket's region. */
  readonly s3: S3Client;
  /** Client for the files bucket's region. */
  readonly filesS3: S3Client;
  readonly bucket: string;
  readonly supabase: SupabaseApi;
  readonly now?: Date;
  /** A checkout whose main branch the code bundle must be at least as new as. */
  readonly repo?: { readonly dir: string; readonly ref: string };
  /** `--deep`: a full verify of the newest export (SHA-256 and pg_restore readability). */
  readonly verify?: (manifestUri: string) => Promise<string>;
}

const HOUR = 3_600_000;
const round1 = (n: number) => Math.round(n * 10) / 10;

function broken(id: string, value: CheckResult["value"], limit: CheckResult["limit"], fix: string, detail: string, unit?: string): CheckResult {
  return { id, ok: false, value, limit, fix, detail, ...(unit ? { unit } : {}) };
}
function kept(id: string, value: CheckResult["value"], limit: CheckResult["limit"], detail: string, unit?: string): CheckResult {
  return { id, ok: true, value, limit, fix: null, detail, ...(unit ? { unit } : {}) };
}
/** A check that could not run counts as broken; its fix is to restore access to what it reads. */
function unreadable(id: string, limit: CheckResult["limit"], e: unknown, fix: string): CheckResult {
  return broken(id, null, limit, fix, `could not check: ${(e as Error).message.split("\n")[0]}`);
}

// ---- Supabase -------------------------------------------------------------------------------

async function checkSupabase(o: BackupCheckOptions, now: number): Promise<CheckResult[]> {
  const a = o.config.assurance;
  const ref = a.supabaseProjectRef;
  const days = o.config.retention.pitrDays;
  const accessFix = "check SUPABASE_ACCESS_TOKEN (its account must reach the project) and SUPABASE_API_URL, then run drp backups check again";
  let backups: Awaited<ReturnType<SupabaseApi["listBackups"]>>;
  try {
    backups = await o.supabase.listBackups(ref);
  } catch (e) {
    return [
      unreadable("supabase.pitr", `enabled, ${days} days`, e, accessFix),
      unreadable("supabase.daily-backup", a.dailyBackupMaxAgeHours, e, accessFix),
      unreadable("supabase.recovery-point", a.recoveryPointMaxAgeMinutes, e, accessFix),
    ];
  }
  const out: CheckResult[] = [];
  const addonFix = `enable the Point-in-Time Recovery add-on with ${days} days for project ${ref} (Supabase dashboard: Project Settings > Add-ons), or set retention.pitrDays to the plan's real window`;
  if (!backups.pitr_enabled) out.push(broken("supabase.pitr", "disabled", `enabled, ${days} days`, addonFix, `PITR of project ${ref}`));
  else {
    try {
      const addons = await o.supabase.listAddons(ref);
      const pitr = addons.selected_addons.find((x) => x.type === "pitr");
      const got = pitr ? Number(/^pitr_(\d+)$/.exec(pitr.variant.id)?.[1] ?? NaN) : NaN;
      if (got === days) out.push(kept("supabase.pitr", `enabled, ${got} days`, `enabled, ${days} days`, `PITR add-on of project ${ref}`));
      else out.push(broken("supabase.pitr", pitr ? `enabled, ${pitr.variant.id}` : "enabled, no PITR add-on listed", `enabled, ${days} days`, addonFix, `PITR add-on of project ${ref}`));
    } catch (e) {
      out.push(unreadable("supabase.pitr", `enabled, ${days} days`, e, accessFix));
    }
  }

  // With PITR enabled Supabase takes no daily backups (PITR replaces them, per its docs): the newest
  // restorable point then counts as the newest backup.
  const latest = backups.physical_backup_data?.latest_physical_backup_date_unix;
  const completed = (backups.backups ?? []).filter((b) => b.status === "COMPLETED" && Number.isFinite(Date.parse(b.inserted_at))).map((b) => Date.parse(b.inserted_at));
  const candidates = [...completed.map((t) => ({ t, what: "newest completed backup" })), ...(backups.pitr_enabled && latest != null ? [{ t: latest * 1000, what: "latest PITR recovery point (PITR replaces daily backups)" }] : [])];
  const newest = candidates.sort((x, y) => y.t - x.t)[0];
  const dailyFix = `Supabase has not completed a daily backup of ${ref} within ${a.dailyBackupMaxAgeHours} h: check Database > Backups in the dashboard and the project's status, and open a Supabase support ticket`;
  if (newest === undefined) out.push(broken("supabase.daily-backup", null, a.dailyBackupMaxAgeHours, dailyFix, "no completed backup listed", "hours"));
  else {
    const age = round1((now - newest.t) / HOUR);
    const detail = `${newest.what} ${new Date(newest.t).toISOString()}`;
    out.push(age <= a.dailyBackupMaxAgeHours ? kept("supabase.daily-backup", age, a.dailyBackupMaxAgeHours, detail, "hours") : broken("supabase.daily-backup", age, a.dailyBackupMaxAgeHours, dailyFix, detail, "hours"));
  }

  const pointFix = `the latest recovery point of ${ref} is not recent: WAL archiving may be stuck; check the PITR add-on and the project's health in the dashboard, and contact Supabase support`;
  if (!backups.pitr_enabled || latest == null)
    out.push(broken("supabase.recovery-point", null, a.recoveryPointMaxAgeMinutes, pointFix, backups.pitr_enabled ? "no recovery window reported" : "no recovery window: PITR is disabled", "minutes"));
  else {
    const age = round1((now - latest * 1000) / 60_000);
    const detail = `latest recovery point ${new Date(latest * 1000).toISOString()}`;
    out.push(age <= a.recoveryPointMaxAgeMinutes ? kept("supabase.recovery-point", age, a.recoveryPointMaxAgeMinutes, detail, "minutes") : broken("supabase.recovery-point", age, a.recoveryPointMaxAgeMinutes, pointFix, detail, "minutes"));
  }
  return out;
}

// ---- the weekly export ----------------------------------------------------------------------

async function listAll(s3: S3Client, bucket: string, prefix: string, maxKeys = Infinity): Promise<_Object[]> {
  const out: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token && out.length < maxKeys);
  return out;
}

/** Export directories end in a sortable stamp (2026-11-27T06-00-00Z): the newest is the greatest. */
function newestManifestKey(keys: readonly string[]): string | undefined {
  const stampOf = (k: string) => posix.basename(posix.dirname(k));
  return keys.filter((k) => posix.basename(k) === MANIFEST_FILE).sort((x, y) => (stampOf(x) < stampOf(y) ? 1 : stampOf(x) > stampOf(y) ? -1 : 0))[0];
}

async function checkExport(o: BackupCheckOptions, now: number): Promise<CheckResult[]> {
  const a = o.config.assurance;
  const prefix = o.config.export.prefix;
  const where = `s3://${o.bucket}/${prefix}`;
  const runFix = `run the weekly export now (drp export, or run the ${o.config.project}-weekly-export schedule's task) and read the export task's logs for why it stopped`;
  let loaded: LoadedManifest | undefined;
  try {
    const key = newestManifestKey((await listAll(o.s3, o.bucket, prefix)).map((x) => x.Key ?? ""));
    if (key) loaded = await loadManifest(o.s3, s3Uri({ bucket: o.bucket, key }));
  } catch (e) {
    const message = e instanceof DrpError ? e.message : describeS3Error(e, `cannot list ${where}`);
    const fix = `give the checker read access to ${where} (s3:ListBucket, s3:GetObject) and check AWS_REGION / AWS_ENDPOINT_URL_S3`;
    return [unreadable("export.newest", a.exportMaxAgeDays, new Error(message), fix), broken("export.dump", null, "present as recorded", fix, "no manifest to check the dump against")];
  }
  if (!loaded)
    return [
      broken("export.newest", null, a.exportMaxAgeDays, runFix, `no complete export (no ${MANIFEST_FILE}) under ${where}`, "days"),
      broken("export.dump", null, "present as recorded", runFix, "no manifest to check the dump against"),
    ];
  const m = loaded.manifest;
  const age = round1((now - Date.parse(m.finishedAt)) / (24 * HOUR));
  const out: CheckResult[] = [
    age <= a.exportMaxAgeDays
      ? kept("export.newest", age, a.exportMaxAgeDays, `newest complete export ${loaded.uri} finished ${m.finishedAt}`, "days")
      : broken("export.newest", age, a.exportMaxAgeDays, runFix, `newest complete export ${loaded.uri} finished ${m.finishedAt}`, "days"),
  ];

  const dumpKey = posix.join(posix.dirname(loaded.location.key), DUMP_FILE);
  const dump = s3Uri({ bucket: o.bucket, key: dumpKey });
  const version = m.dump.versionId ?? undefined;
  const recorded = `${m.dump.bytes} bytes${version ? ` at version ${version}` : ""}${m.dump.objectLock.mode ? `, ${m.dump.objectLock.mode} until ${m.dump.objectLock.retainUntil}` : ""}`;
  const dumpFix = `the dump of ${loaded.uri} is not as recorded: treat that export as lost, run a new export now and find out who changed ${dump} (CloudTrail)`;
  try {
    const head = await o.s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: dumpKey, VersionId: version }));
    const problems: string[] = [];
    if (head.ContentLength !== m.dump.bytes) problems.push(`${head.ContentLength} bytes`);
    const mode = head.ObjectLockMode ?? null;
    const until = head.ObjectLockRetainUntilDate ? head.ObjectLockRetainUntilDate.toISOString() : null;
    if (mode !== m.dump.objectLock.mode) problems.push(`lock mode ${mode ?? "none"}`);
    if (m.dump.objectLock.retainUntil && (until === null || Date.parse(until) < Date.parse(m.dump.objectLock.retainUntil))) problems.push(`retained until ${until ?? "never"}`);
    out.push(problems.length ? broken("export.dump", problems.join(", "), recorded, dumpFix, dump) : kept("export.dump", recorded, recorded, dump));
  } catch (e) {
    const missing = isS3NotFound(e) || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400;
    out.push(missing ? broken("export.dump", "missing", recorded, dumpFix, `${dump} not found`) : unreadable("export.dump", recorded, new Error(describeS3Error(e, `cannot read ${dump}`)), `give the checker s3:GetObjectVersion on ${where}*`));
  }

  if (o.verify) {
    try {
      out.push(kept("export.verify", await o.verify(loaded.uri), "manifest, size, SHA-256 and pg_restore --list all match", `drp verify ${loaded.uri}`));
    } catch (e) {
      out.push(broken("export.verify", (e as Error).message.split("\n")[0], "manifest, size, SHA-256 and pg_restore --list all match", dumpFix, `drp verify ${loaded.uri}`));
    }
  }
  return out;
}

// ---- file replication -----------------------------------------------------------------------

/** Counts of S3's per-object replication status among sampled objects; unreported ones are not counted. */
export function replicationCounts(statuses: readonly (string | undefined)[]): { reported: number; pending: number; failed: number } {
  const reported = statuses.filter(Boolean) as string[];
  return { reported: reported.length, pending: reported.filter((s) => s === "PENDING").length, failed: reported.filter((s) => s === "FAILED").length };
}

async function checkReplication(o: BackupCheckOptions): Promise<CheckResult[]> {
  const a = o.config.assurance;
  const { bucket, prefix } = o.config.files;
  const drArn = `arn:aws:s3:::${o.bucket}`;
  const deployFix = `deploy the storage stack (npx cdktf deploy storage) to restore the replication of ${bucket} into ${o.bucket}, then check the rule in the S3 console`;
  const out: CheckResult[] = [];
  try {
    const cfg = await o.filesS3.send(new GetBucketReplicationCommand({ Bucket: bucket }));
    const rules = (cfg.ReplicationConfiguration?.Rules ?? []).filter((r) => r.Destination?.Bucket === drArn);
    const enabled = rules.find((r) => r.Status === "Enabled");
    out.push(
      enabled
        ? kept("files.replication-rule", `${enabled.ID ?? "rule"} Enabled`, "Enabled", `replication of s3://${bucket} into ${o.bucket}`)
        : broken("files.replication-rule", rules.length ? `${rules[0].ID ?? "rule"} ${rules[0].Status}` : "no rule to the DR bucket", "Enabled", deployFix, `replication of s3://${bucket} into ${o.bucket}`),
    );
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === "ReplicationConfigurationNotFoundError") out.push(broken("files.replication-rule", "missing", "Enabled", deployFix, `s3://${bucket} has no replication configuration`));
    else out.push(unreadable("files.replication-rule", "Enabled", new Error(describeS3Error(e, `cannot read the replication of ${bucket}`)), `give the checker s3:GetReplicationConfiguration on ${bucket}`));
    return out;
  }

  try {
    const objects = await listAll(o.filesS3, bucket, prefix, 10_000);
    const sample = objects.sort((x, y) => (y.LastModified?.getTime() ?? 0) - (x.LastModified?.getTime() ?? 0)).slice(0, a.replicationSampleObjects);
    const statuses = await mapLimit(sample, 8, async (obj) => (await o.filesS3.send(new HeadObjectCommand({ Bucket: bucket, Key: obj.Key! }))).ReplicationStatus);
    const c = replicationCounts(statuses);
    const limit = `failed <= ${a.replicationMaxFailed}, pending <= ${a.replicationMaxPending}`;
    const value = c.reported ? `failed ${c.failed}, pending ${c.pending} of ${sample.length} newest objects` : `not reported by S3 for the ${sample.length} newest objects`;
    const detail = `replication status of the newest objects of s3://${bucket}/${prefix}`;
    out.push(
      c.failed <= a.replicationMaxFailed && c.pending <= a.replicationMaxPending
        ? kept("files.replication-status", value, limit, detail)
        : broken("files.replication-status", value, limit, `objects of ${bucket} are not reaching ${o.bucket}: check the replication role's permissions and the DR bucket's KMS key policy, then re-replicate the failed objects with S3 Batch Replication`, detail),
    );
  } catch (e) {
    out.push(unreadable("files.replication-status", null, new Error(describeS3Error(e, `cannot read objects of ${bucket}`)), `give the checker s3:ListBucket and s3:GetObject on ${bucket}`));
  }
  return out;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

// ---- infrastructure code --------------------------------------------------------------------

const run = promisify(execFile);

async function mainHead(repo: { dir: string; ref: string }): Promise<{ commit: string; committedAt: string }> {
  try {
    const { stdout } = await run("git", ["-C", repo.dir, "log", "-1", "--format=%H %cI", repo.ref, "--"]);
    const [commit, committedAt] = stdout.trim().split(" ");
    return { commit, committedAt };
  } catch (e) {
    throw new DrpError(`cannot read ${repo.ref} in ${repo.dir}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split("\n")[0]}; pass --repo DIR (a checkout) and --main-ref REF`, 2);
  }
}

async function checkCode(o: BackupCheckOptions, now: number): Promise<CheckResult> {
  const a = o.config.assurance;
  const where = `s3://${o.bucket}/${CODE_PREFIX}`;
  const bundleFix = `back up the infrastructure code now (drp failover's code bundle step, or the bundle workflow on main) so that ${where} holds a bundle of the newest commit`;
  const head = o.repo ? await mainHead(o.repo) : undefined;
  const limit = head ? `${o.repo!.ref} ${head.commit.slice(0, 12)} committed ${head.committedAt}` : a.codeBundleMaxAgeDays;
  let manifest: CodeManifest | undefined;
  let dir: string | undefined;
  try {
    const dirs = [...new Set((await listAll(o.s3, o.bucket, CODE_PREFIX)).map((x) => x.Key ?? "").filter((k) => posix.basename(k) === CODE_MANIFEST_FILE).map((k) => `${posix.dirname(k)}/`))]
      .filter((d) => CODE_BUNDLE_DIR.test(d))
      .sort()
      .reverse();
    dir = dirs[0];
    if (dir) {
      const got = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: `${dir}${CODE_MANIFEST_FILE}` }));
      manifest = parseCodeManifest(await got.Body!.transformToString("utf8"), `s3://${o.bucket}/${dir}${CODE_MANIFEST_FILE}`);
    }
  } catch (e) {
    const message = e instanceof DrpError ? e.message : describeS3Error(e, `cannot list ${where}`);
    return unreadable("code.bundle", limit, new Error(message), e instanceof DrpError ? bundleFix : `give the checker s3:ListBucket and s3:GetObject on ${where}`);
  }
  if (!manifest || !dir) return broken("code.bundle", null, limit, bundleFix, `the promise "infrastructure code backed up to S3" is broken: no complete bundle under ${where}`);
  const detail = `newest bundle s3://${o.bucket}/${dir} of ${manifest.commit.slice(0, 12)} created ${manifest.createdAt}`;
  if (head) {
    const fresh = manifest.commit === head.commit || Date.parse(manifest.createdAt) >= Date.parse(head.committedAt);
    return fresh ? kept("code.bundle", manifest.createdAt, limit, detail) : broken("code.bundle", manifest.createdAt, limit, bundleFix, detail);
  }
  const age = round1((now - Date.parse(manifest.createdAt)) / (24 * HOUR));
  return age <= a.codeBundleMaxAgeDays ? kept("code.bundle", age, limit, detail, "days") : broken("code.bundle", age, limit, bundleFix, detail, "days");
}

/** Runs every check concurrently; results in a fixed order. */
export async function checkBackups(o: BackupCheckOptions): Promise<CheckResult[]> {
  const now = (o.now ?? new Date()).getTime();
  const [supabase, exported, files, code] = await Promise.all([checkSupabase(o, now), checkExport(o, now), checkReplication(o), checkCode(o, now)]);
  return [...supabase, ...exported, ...files, code];
}

/** One line per check; broken ones carry their fix. */
export function formatResults(results: readonly CheckResult[]): string {
  const show = (v: CheckResult["value"], unit?: string) => (v === null ? "none" : `${v}${unit && typeof v === "number" ? ` ${unit}` : ""}`);
  return results
    .map((r) =>
      r.ok
        ? `ok      ${r.id}: ${show(r.value, r.unit)} (limit ${show(r.limit, r.unit)})`
        : `BROKEN  ${r.id}: ${show(r.value, r.unit)} (limit ${show(r.limit, r.unit)}); ${r.detail}; fix: ${r.fix}`,
    )
    .join("\n");
}
