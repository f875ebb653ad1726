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
import { connect, describePgError, type DbConnection } from "./connection";
import { compareCounts, countTablesIn, userTables } from "./tables";
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

async function existingTables(target: DbConnection): Promise<string[]> {
  const client = await connect(target, "cannot connect to the restore target");
  try {
    return await userTables(client);
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

export async function restoreExport(opts: RestoreOptions): Promise<RestoreResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new DrpError(`--jobs must be an integer from 1 to 64 (got ${jobs})`, 2);
  const { target } = opts;
  mark("restoreStart");

  // Both are read-only checks: run them together, but report a bad export before a busy target.
  const readExport = async () => {
    const l = await loadManifest(opts.s3, opts.uri);
    await checkDumpSize(opts.s3, dumpObject(l), l.manifest.dump.bytes);
    return l;
  };
  const [exported, inspected] = await Promise.allSettled([readExport(), existingTables(target)]);
  if (exported.status === "rejected") throw exported.reason;
  if (inspected.status === "rejected") throw inspected.reason;
  mark("checksDone");
  const loaded = exported.value;
  const present = inspected.value;
  const { manifest } = loaded;
  const dump = dumpObject(loaded);
  if (present.length && !opts.force) {
    const sample = present.slice(0, 3).join(", ") + (present.length > 3 ? ", ..." : "");
    throw new DrpError(`restore target ${target.label} is not empty (${present.length} tables: ${sample}); restore into an empty database, or pass --force to replace the export's objects`, 2);
  }

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
    try {
      await runPgTool("pg_restore", pgRestoreArgs({ jobs, force: Boolean(opts.force), noOwner: Boolean(opts.noOwner) }, file), target.toolConnection());
    } catch (e) {
      const state = jobs > 1 ? "the target may be partly restored (parallel restore is not one transaction); rerun with --force" : "the target was left unchanged";
      throw new DrpError(`restore into ${target.label} failed, ${state}: ${(e as Error).message}`, 1);
    }

    mark("pgRestoreDone");
    const restoreSeconds = since(started);
    opts.onPhase?.("checking");
    started = performance.now();
    const actual = await countTablesIn(target, Object.keys(manifest.rowCounts), "counting restored rows failed");
    mark("countsDone");
    const diff = compareCounts(manifest.rowCounts, actual);
    if (diff) throw new DrpError(`restored into ${target.label} but row counts differ from the manifest: ${diff}`, 1);
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
