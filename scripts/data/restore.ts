/**
 * Restores an export into a database anywhere. Nothing touches the target until the dump's size and
 * SHA-256 are proven; a non-empty target is refused unless forced; by default pg_restore runs as one
 * transaction, so a failure leaves the target as it was. Row counts are checked against the manifest after.
 */
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { DrpError } from "../lib/cli";
import { runPgTool } from "../lib/pg-tools";
import type { ProgressHooks } from "../lib/progress";
import { s3Uri } from "../lib/s3";
import { mark } from "../lib/timings";
import { checkDumpSize, checkToc, downloadDump, dumpObject, loadManifest } from "./artifact";
import { confirmToolTarget, connect, databaseIdentity, describePgError, type DatabaseIdentity, type DbConnection } from "./connection";
import { expectedCounts, type Manifest } from "./manifest";
import { describeBlockers, describeTrip, watchSessions } from "./session-watch";
import { compareCounts, countTablesIn, userTables } from "./tables";
import { DEFAULT_RESTORE_TIMEOUTS, timeoutSettings, type RestoreTimeouts } from "./timeouts";
import { withTempDir } from "./workspace";

export interface RestoreOptions extends ProgressHooks {
  readonly s3: S3Client;
  readonly uri: string;
  readonly target: DbConnection;
  /** Restore into a non-empty target, dropping the export's objects first (pg_restore --clean --if-exists). */
  readonly force?: boolean;
  /**
   * Parallel pg_restore workers. 1 (default) restores in a single transaction: all or nothing.
   * More is faster on big dumps but cannot be one transaction: a failure leaves a partial target.
   */
  readonly jobs?: number;
  /** Skip ownership and grants, for targets that lack the source's roles. */
  readonly noOwner?: boolean;
  /** Lock wait and statement limits on the target (default DEFAULT_RESTORE_TIMEOUTS). */
  readonly timeouts?: RestoreTimeouts;
  /** Allow --force into the export's own source database, rolling it back to the export. */
  readonly overwriteSource?: boolean;
  readonly tmpDir?: string;
}

export interface RestoreResult {
  readonly manifest: string;
  readonly target: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly singleTransaction: boolean;
  readonly replacedTables: number;
  readonly rowCounts: Record<string, number | null>;
  /** Seconds per phase, for recovery-time records. */
  readonly timings: { readonly downloadSeconds: number; readonly restoreSeconds: number; readonly checkSeconds: number };
}

const since = (t: number) => Math.round((performance.now() - t) / 10) / 100;

/** The session name of drp's own checks on the target, watched like pg_restore's. */
const CHECK_APPLICATION = "drp-restore";

async function inspectTarget(target: DbConnection): Promise<{ tables: string[]; identity: DatabaseIdentity }> {
  const client = await connect(target, "cannot connect to the restore target", CHECK_APPLICATION);
  try {
    return { tables: await userTables(client), identity: await databaseIdentity(client) };
  } catch (e) {
    throw new DrpError(describePgError(e, target, "cannot inspect the restore target"), 1);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function pgRestoreArgs(opts: { jobs: number; force: boolean; noOwner: boolean }, file: string): string[] {
  return [
    "--exit-on-error",
    "--no-password",
    ...(opts.jobs > 1 ? [`--jobs=${opts.jobs}`] : ["--single-transaction"]),
    ...(opts.force ? ["--clean", "--if-exists"] : []),
    ...(opts.noOwner ? ["--no-owner", "--no-privileges"] : []),
    file,
  ];
}

/** The target is the export's source when both the cluster (system identifier) and the database name match. */
export function isExportSource(manifest: Manifest, identity: DatabaseIdentity): boolean {
  const { systemIdentifier, database } = manifest.source;
  return Boolean(systemIdentifier && database && identity.systemIdentifier === systemIdentifier && identity.database === database);
}

export async function restoreExport(opts: RestoreOptions): Promise<RestoreResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new DrpError(`--jobs must be an integer from 1 to 64 (got ${jobs})`, 2);
  const timeouts = opts.timeouts ?? DEFAULT_RESTORE_TIMEOUTS;
  // drp's own sessions get the limits as server settings; pg_restore's are bounded by the watcher.
  const target = opts.target.withSessionSettings(timeoutSettings(timeouts));
  mark("restoreStart");

  // Both are read-only checks: run them together, but report a bad export before a busy target.
  const readExport = async () => {
    const l = await loadManifest(opts.s3, opts.uri);
    await checkDumpSize(opts.s3, dumpObject(l), l.manifest.dump.bytes);
    return l;
  };
  const [exported, inspected] = await Promise.allSettled([readExport(), inspectTarget(target)]);
  if (exported.status === "rejected") throw exported.reason;
  if (inspected.status === "rejected") throw inspected.reason;
  mark("checksDone");
  const loaded = exported.value;
  const { tables: present, identity } = inspected.value;
  const { manifest } = loaded;
  const dump = dumpObject(loaded);
  if (present.length && !opts.force) {
    const sample = present.slice(0, 3).join(", ") + (present.length > 3 ? ", ..." : "");
    throw new DrpError(`restore target ${target.label} is not empty (${present.length} tables: ${sample}); restore into an empty database, or pass --force to replace the export's objects`, 2);
  }
  if (present.length && isExportSource(manifest, identity) && !opts.overwriteSource)
    throw new DrpError(
      `restore target ${target.label} is the export's own source database (system identifier ${identity.systemIdentifier}, database ${identity.database}): --force would roll it back to ${manifest.startedAt} and lose every later change; restore into another database, or add --overwrite-source if rolling it back is intended (or the target is a physical copy of the source, which shares its system identifier)`,
      2,
    );
  await confirmToolTarget(target, identity, "the restore");

  return withTempDir(manifest.dump.bytes, opts.tmpDir, async (dir) => {
    const file = join(dir, "db.dump");
    opts.onPhase?.("downloading");
    let started = performance.now();
    const digest = await downloadDump(opts.s3, loaded, file, opts.onBytes);
    mark("downloadDone");
    checkToc(await runPgTool("pg_restore", ["--list", file]), manifest, s3Uri(dump));
    mark("tocDone");
    const downloadSeconds = since(started);

    opts.onPhase?.("restoring");
    started = performance.now();
    const watch = await watchSessions(target, [target.toolApplicationName("pg_restore"), CHECK_APPLICATION], timeouts).catch((e: unknown) => {
      throw e instanceof DrpError ? e : new DrpError(describePgError(e, target, "cannot watch the restore target"), 1);
    });
    // Partitioned tables are checked as a whole and leaf by leaf.
    const expected = expectedCounts(manifest);
    let counted: Record<string, number | null>;
    let restoreSeconds: number;
    try {
      try {
        await runPgTool("pg_restore", pgRestoreArgs({ jobs, force: Boolean(opts.force), noOwner: Boolean(opts.noOwner) }, file), target.toolConnection());
      } catch (e) {
        const state = jobs > 1 ? "the target may be partly restored (parallel restore is not one transaction); rerun with --force" : "the target was left unchanged";
        throw new DrpError(`restore into ${target.label} failed, ${state}: ${watch.trip ? describeTrip(watch.trip) : (e as Error).message}`, 1);
      }
      mark("pgRestoreDone");
      restoreSeconds = since(started);
      opts.onPhase?.("checking");
      started = performance.now();
      try {
        counted = await countTablesIn(target, Object.keys(expected), "counting restored rows failed", 4, CHECK_APPLICATION);
      } catch (e) {
        // The data is in; a lock held on a restored table kept drp from counting it.
        if (watch.trip) throw new DrpError(`restored into ${target.label} but counting its rows failed: ${describeTrip(watch.trip)}`, 1);
        if (/SQLSTATE 55P03/.test((e as Error).message))
          throw new DrpError(`${(e as Error).message}: a lock on a restored table was ${describeBlockers(watch.lastBlockers)}, or raise --lock-timeout`, 1);
        throw e;
      }
    } finally {
      await watch.stop();
    }
    mark("countsDone");
    const diff = compareCounts(expected, counted);
    if (diff) throw new DrpError(`restored into ${target.label} but row counts differ from the manifest: ${diff}`, 1);
    const actual = Object.fromEntries(Object.keys(manifest.rowCounts).map((t) => [t, counted[t]]));
    return {
      manifest: loaded.uri,
      target: target.label,
      bytes: digest.bytes,
      sha256: digest.sha256,
      singleTransaction: jobs === 1,
      replacedTables: present.length,
      rowCounts: actual,
      timings: { downloadSeconds, restoreSeconds, checkSeconds: since(started) },
    };
  });
}
