/**
 * Restores an export into a database anywhere. By default the dump streams from S3 into one
 * `pg_restore --single-transaction` while it is hashed, and pg_restore gets the dump's last bytes (so it
 * can commit) only once the dump's size, SHA-256 and table of contents are proven: a bad dump, like any
 * other failure, leaves the target as it was, and no local disk is needed. With --jobs the dump is
 * downloaded and proven before pg_restore starts (parallel pg_restore reads a file). A non-empty target
 * is refused unless forced. Row counts are checked against the manifest after.
 */
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import { DrpError } from "../lib/cli";
import { runPgTool, spawnPgTool } from "../lib/pg-tools";
import type { ProgressHooks } from "../lib/progress";
import { s3Uri } from "../lib/s3";
import { mark } from "../lib/timings";
import { checkDigest, checkDumpSize, checkListedToc, checkToc, downloadDump, DumpPrefetch, dumpObject, HeldBackFeed, loadManifest, streamDump, type LoadedManifest, type StreamDigest } from "./artifact";
import { confirmToolTarget, connect, databaseIdentity, describePgError, type DatabaseIdentity, type DbConnection } from "./connection";
import { expectedCounts, manifestSchema, type Manifest } from "./manifest";
import { describeBlockers, describeTrip, watchSessions, type SessionWatch } from "./session-watch";
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

/** pg_restore's arguments; without `file` it reads the dump from its stdin. */
export function pgRestoreArgs(opts: { jobs: number; force: boolean; noOwner: boolean }, file?: string): string[] {
  return [
    "--exit-on-error",
    "--no-password",
    ...(opts.jobs > 1 ? [`--jobs=${opts.jobs}`] : ["--single-transaction"]),
    ...(opts.force ? ["--clean", "--if-exists"] : []),
    ...(opts.noOwner ? ["--no-owner", "--no-privileges"] : []),
    ...(file === undefined ? [] : [file]),
  ];
}

/**
 * Streams the dump from S3 into pg_restore (reading its stdin) and, for the table of contents, into
 * `pg_restore --list`, hashing it on the way. pg_restore's last bytes are held back until the size,
 * SHA-256 and table of contents are proven; if they are not, pg_restore is stopped before it can commit
 * and its transaction rolls back. A table of contents that restore would refuse, a stalled download or
 * a lock wait the watcher ended stop the stream at once; any other pg_restore failure lets the download
 * finish first, so a corrupt dump is reported as corrupt rather than by what pg_restore made of it.
 */
async function restoreStreaming(
  prefetch: DumpPrefetch,
  loaded: LoadedManifest,
  target: DbConnection,
  args: string[],
  watch: SessionWatch,
  restoreFailed: (e: unknown, watch: SessionWatch) => DrpError,
  onBytes?: (n: number) => void,
): Promise<{ digest: StreamDigest; provenSeconds: number }> {
  const started = performance.now();
  const dump = dumpObject(loaded);
  const where = s3Uri(dump);
  const body = await prefetch.take();
  const toc = spawnPgTool("pg_restore", ["--list"], { stdin: "pipe", stdout: "collect" });
  const restore = spawnPgTool("pg_restore", args, { connection: target.toolConnection(), stdin: "pipe" });
  const feed = new HeldBackFeed(restore.stdin!, toc.stdin!);

  // The first failure decides what is reported; a proof failure (the dump) before a restore failure.
  let failure: { error: unknown; proof: boolean } | undefined;
  const stop = (error: unknown, proof: boolean) => {
    failure ??= { error, proof };
    body.destroy();
  };
  // The table of contents comes first in the dump: one restore would refuse ends the download at once.
  const tocChecked = checkListedToc(toc.done, loaded.manifest, where);
  tocChecked.catch((e: unknown) => stop(e, true));
  let released = false;
  let restoreError: unknown;
  restore.done.then(
    () => {
      if (!released) restoreError ??= new Error("pg_restore ended before the end of the dump");
    },
    (e: unknown) => {
      if (released) return;
      restoreError ??= e;
      if (watch.trip) stop(e, false);
    },
  );

  let digest: StreamDigest | undefined;
  try {
    digest = await streamDump(body, feed, { mayCloseEarly: true, onBytes });
  } catch (e) {
    failure ??= { error: e, proof: true };
  }
  if (!failure) {
    try {
      checkDigest(digest!, loaded.manifest, where);
      await tocChecked;
    } catch (e) {
      failure = { error: e, proof: true };
    }
  }
  if (!failure && restoreError !== undefined) failure = { error: restoreError, proof: false };
  if (failure) {
    toc.kill();
    restore.kill();
    await restore.done.catch(() => undefined);
    throw failure.proof ? failure.error : restoreFailed(failure.error, watch);
  }
  // streamDump has ended the feed: let it hand on what it still buffers before the held bytes follow.
  await finished(feed);
  mark("downloadDone");
  const provenSeconds = since(started);
  released = true;
  feed.release();
  try {
    await restore.done;
  } catch (e) {
    throw restoreFailed(e, watch);
  }
  return { digest: digest!, provenSeconds };
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
  // Once the dump is known, a streamed restore starts its GetObject while the target is still checked.
  let prefetch: DumpPrefetch | undefined;
  const readExport = async () => {
    const l = await loadManifest(opts.s3, opts.uri);
    await checkDumpSize(opts.s3, dumpObject(l), l.manifest.dump.bytes);
    if (jobs === 1) prefetch = new DumpPrefetch(opts.s3, dumpObject(l));
    return l;
  };
  try {
    const inspecting = inspectTarget(target);
    // psql's view of the target is read meanwhile too, and reported after the checks below.
    const confirming = inspecting.then((r) => confirmToolTarget(target, r.identity, "the restore"));
    confirming.catch(() => undefined);
    const checks = Promise.allSettled([readExport(), inspecting]);
    // zod (the manifest's schema) loads while those requests are in flight, not after the manifest arrives.
    manifestSchema();
    const [exported, inspected] = await checks;
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
    await confirming;

    const flags = { jobs, force: Boolean(opts.force), noOwner: Boolean(opts.noOwner) };
    const watchTarget = () =>
      watchSessions(target, [target.toolApplicationName("pg_restore"), CHECK_APPLICATION], timeouts).catch((e: unknown) => {
        throw e instanceof DrpError ? e : new DrpError(describePgError(e, target, "cannot watch the restore target"), 1);
      });
    const restoreFailed = (e: unknown, watch: SessionWatch) => {
      const state = jobs > 1 ? "the target may be partly restored (parallel restore is not one transaction); rerun with --force" : "the target was left unchanged";
      return new DrpError(`restore into ${target.label} failed, ${state}: ${watch.trip ? describeTrip(watch.trip) : (e as Error).message}`, 1);
    };

    /** Counts the restored rows (partitioned tables as a whole and leaf by leaf) and compares them with the manifest. */
    const checkCounts = async (watch: SessionWatch): Promise<Record<string, number | null>> => {
      const expected = expectedCounts(manifest);
      let counted: Record<string, number | null>;
      try {
        counted = await countTablesIn(target, Object.keys(expected), "counting restored rows failed", 4, CHECK_APPLICATION);
      } catch (e) {
        // The data is in; a lock held on a restored table kept drp from counting it.
        if (watch.trip) throw new DrpError(`restored into ${target.label} but counting its rows failed: ${describeTrip(watch.trip)}`, 1);
        if (/SQLSTATE 55P03/.test((e as Error).message))
          throw new DrpError(`${(e as Error).message}: a lock on a restored table was ${describeBlockers(watch.lastBlockers)}, or raise --lock-timeout`, 1);
        throw e;
      }
      mark("countsDone");
      const diff = compareCounts(expected, counted);
      if (diff) throw new DrpError(`restored into ${target.label} but row counts differ from the manifest: ${diff}`, 1);
      return Object.fromEntries(Object.keys(manifest.rowCounts).map((t) => [t, counted[t]]));
    };

    const result = (digest: StreamDigest, rowCounts: Record<string, number | null>, timings: RestoreResult["timings"]): RestoreResult => ({
      manifest: loaded.uri,
      target: target.label,
      bytes: digest.bytes,
      sha256: digest.sha256,
      singleTransaction: jobs === 1,
      replacedTables: present.length,
      rowCounts,
      timings,
    });

    if (jobs === 1) {
      // One transaction: the dump streams into pg_restore as it downloads, and pg_restore can commit only
      // once the whole dump is proven (HeldBackFeed).
      opts.onPhase?.("restoring");
      const started = performance.now();
      const watch = await watchTarget();
      try {
        // readExport started the prefetch: with one job it always does, before checksDone.
        const { digest, provenSeconds } = await restoreStreaming(prefetch!, loaded, target, pgRestoreArgs(flags), watch, restoreFailed, opts.onBytes);
        mark("pgRestoreDone");
        const restoreSeconds = since(started);
        opts.onPhase?.("checking");
        const checking = performance.now();
        const rowCounts = await checkCounts(watch);
        return result(digest, rowCounts, { downloadSeconds: provenSeconds, restoreSeconds, checkSeconds: since(checking) });
      } finally {
        await watch.stop();
      }
    }

    // Parallel pg_restore needs a file: the dump is downloaded and proven first.
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
      const watch = await watchTarget();
      try {
        try {
          await runPgTool("pg_restore", pgRestoreArgs(flags, file), target.toolConnection());
        } catch (e) {
          throw restoreFailed(e, watch);
        }
        mark("pgRestoreDone");
        const restoreSeconds = since(started);
        opts.onPhase?.("checking");
        started = performance.now();
        const rowCounts = await checkCounts(watch);
        return result(digest, rowCounts, { downloadSeconds, restoreSeconds, checkSeconds: since(started) });
      } finally {
        await watch.stop();
      }
    });
  } finally {
    // A check failed, or the restore is over: a prefetch nobody took is closed.
    prefetch?.discard();
  }
}
