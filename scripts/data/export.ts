/**
 * The weekly export: `pg_dump -Fc` streamed into a multipart upload, hashed on the way, with exact row
 * counts of the critical tables taken from the dump's own snapshot, and the manifest written last.
 * Memory stays flat (a few upload parts) whatever the database size. A failed export leaves no
 * manifest and no pending multipart upload, so rerunning is always safe.
 */
import { createHash } from "node:crypto";
import { Transform, type TransformCallback, type Writable } from "node:stream";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Client } from "pg";
import { version as drpVersion } from "../../package.json";
import { DrpError } from "../lib/cli";
import { onInterrupt } from "../lib/interrupt";
import { pgToolVersion, spawnPgTool } from "../lib/pg-tools";
import { addTime, mark, timingsOn } from "../lib/timings";
import { abortFailedNote, describeS3Error, guardMultipartUpload, isS3NotFound, s3AbortTimeoutMs, s3Uri, skipPartPayloadHash } from "../lib/s3";
import { checkToc, readBucketDefaultRetention, type BucketDefaultRetention } from "./artifact";
import { connect, databaseIdentity, describePgError, type DatabaseIdentity, type DbConnection } from "./connection";
import { exportKeys, MANIFEST_FORMAT_VERSION, manifestSchema, type CriticalCounts, type Manifest } from "./manifest";
import { countCritical, resolveTables, type CriticalTable } from "./tables";

const MiB = 1024 * 1024;
/** 8 MiB parts, 4 in flight: the process stays under 200 MB; parts grow only for databases over ~70 GB. */
export const MIN_PART_SIZE = 8 * MiB;
export const DEFAULT_QUEUE_SIZE = 4;
/** pg_dump's stdout buffer: the archive reaches drp in 64 KiB reads instead of 4-20 KiB ones (see spawnPgTool). */
const PG_DUMP_STDOUT_BUFFER = MiB;
/** S3 allows 10,000 parts; the budget leaves room for a dump somewhat larger than the database. */
const PART_BUDGET = 9_000;

/** Part size for a database of `databaseBytes`: the dump (compressed) rarely exceeds the database's size. */
export function partSizeFor(databaseBytes: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(databaseBytes / PART_BUDGET / MiB) * MiB);
}

export interface ExportOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Key prefix ending in / (or empty). */
  readonly prefix: string;
  /** Tables to count, `orders` or `schema.orders`. */
  readonly criticalTables: readonly string[];
  readonly db: DbConnection;
  readonly partSize?: number;
  readonly queueSize?: number;
  readonly now?: () => Date;
  readonly onBytes?: (bytes: number) => void;
  /** How long a failed or interrupted export waits for S3 to abort its unfinished upload. @default DRP_S3_ABORT_TIMEOUT_MS, else 10 s */
  readonly abortTimeoutMs?: number;
}

export interface ExportResult {
  readonly manifestUri: string;
  readonly manifest: Manifest;
  /** Seconds per phase: pg_dump running, then the upload's completion and the manifest after it. */
  readonly timings: { readonly dumpSeconds: number; readonly finishSeconds: number };
}

const since = (t: number) => Math.round((performance.now() - t) / 10) / 100;

/**
 * Hashes and counts what passes, and copies it to `tee` (pg_restore --list) for as long as that reads.
 * Holds back end-of-stream until `beforeEnd` settles, so a failed pg_dump (which still closes its
 * stdout) or a failed check fails the upload instead of completing the object.
 */
class DigestStream extends Transform {
  private readonly hash = createHash("sha256");
  private teeOpen: boolean;
  private readonly teeClosed: Promise<void>;
  bytes = 0;
  constructor(
    private readonly beforeEnd: () => Promise<unknown>,
    private readonly tee: Writable,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
    this.teeOpen = true;
    // pg_restore --list stops reading once it has the table of contents: that closes the tee, not the export.
    this.teeClosed = new Promise((resolve) => {
      const closed = () => {
        this.teeOpen = false;
        resolve();
      };
      tee.on("error", closed);
      tee.on("close", closed);
    });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (timingsOn) {
      mark("firstByte");
      const t = performance.now();
      this.hash.update(chunk);
      addTime("hashMs", performance.now() - t);
    } else this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    if (!this.teeOpen || this.tee.write(chunk)) return cb(null, chunk);
    void Promise.race([new Promise((r) => this.tee.once("drain", r)), this.teeClosed]).then(() => cb(null, chunk));
  }
  override _flush(cb: TransformCallback): void {
    if (this.teeOpen) this.tee.end();
    this.beforeEnd().then(
      () => cb(),
      (e: Error) => cb(e),
    );
  }
  override _destroy(e: Error | null, cb: (e: Error | null) => void): void {
    this.tee.destroy();
    cb(e);
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}

async function refuseExisting(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    if (isS3NotFound(e) || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) return;
    throw new DrpError(describeS3Error(e, `cannot reach s3://${bucket}`), 1);
  }
  throw new DrpError(`an export already exists at s3://${bucket}/${key}; wait a second and run again`, 1);
}

/** How often the server checks, during a query of the export's session, that drp is still connected. */
export const CLIENT_CHECK_INTERVAL_MS = 5_000;

/**
 * A count waiting behind a lock (or scanning a huge table) when drp gives up or is stopped would keep
 * the snapshot, and the xmin that holds back vacuum, until it ends: PostgreSQL 14+ can notice the
 * client has gone while a query runs. Best effort (a savepoint): a server that refuses it (not Linux)
 * still exports.
 */
async function checkClientWhileWaiting(client: Client, serverVersionNum: number): Promise<void> {
  if (serverVersionNum < 140000) return;
  await client.query("SAVEPOINT drp_client_check");
  try {
    await client.query("SELECT pg_catalog.set_config('client_connection_check_interval', $1, true)", [`${CLIENT_CHECK_INTERVAL_MS}ms`]);
    await client.query("RELEASE SAVEPOINT drp_client_check");
  } catch {
    await client.query("ROLLBACK TO SAVEPOINT drp_client_check");
  }
}

async function openSnapshot(
  db: DbConnection,
): Promise<{ client: Client; snapshot: string; serverVersion: string; serverVersionNum: number; databaseBytes: number; identity: DatabaseIdentity }> {
  const client = await connect(db, "cannot start the export", "drp-export");
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    // Counting big tables and waiting for pg_dump must not trip role-level timeouts (Supabase sets some).
    await client.query("SET LOCAL statement_timeout = 0");
    await client.query("SET LOCAL idle_in_transaction_session_timeout = 0");
    // The counts run beside pg_dump on the production server: one process, no parallel workers taking
    // the cores pg_dump and the application need (they finish long before pg_dump all the same).
    await client.query("SET LOCAL max_parallel_workers_per_gather = 0");
    const snap = await client.query<{ id: string }>("SELECT pg_catalog.pg_export_snapshot() AS id");
    const ver = await client.query<{ v: string; n: string; size: string }>(
      `SELECT pg_catalog.current_setting('server_version') AS v, pg_catalog.current_setting('server_version_num') AS n,
              pg_catalog.pg_database_size(pg_catalog.current_database()) AS size`,
    );
    const row = ver.rows[0];
    await checkClientWhileWaiting(client, Number(row.n));
    const identity = await databaseIdentity(client);
    return { client, snapshot: snap.rows[0].id, serverVersion: row.v, serverVersionNum: Number(row.n), databaseBytes: Number(row.size), identity };
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new DrpError(describePgError(e, db, "cannot open the export snapshot"), 1);
  }
}

export async function exportDatabase(opts: ExportOptions): Promise<ExportResult> {
  const { s3, bucket, db } = opts;
  const abortTimeoutMs = opts.abortTimeoutMs ?? s3AbortTimeoutMs();
  const now = opts.now ?? (() => new Date());
  const started = now();
  const keys = exportKeys(opts.prefix, db.exportName, started);
  mark("exportStart");

  const snap = await openSnapshot(db);
  mark("snapshotOpen");
  const { client } = snap;
  // Ending the connection ends the REPEATABLE READ snapshot (rolled back): once, and bounded, so a
  // stalled or interrupted export never holds back vacuum on the production database after it gave up.
  let ending: Promise<unknown> | undefined;
  const endSnapshot = () => (ending ??= Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]));
  try {
    let tables: CriticalTable[];
    try {
      tables = await resolveTables(client, opts.criticalTables);
    } catch (e) {
      if (e instanceof DrpError) throw e;
      throw new DrpError(describePgError(e, db, "cannot look up the critical tables"), 1);
    }

    mark("tablesResolved");
    const dump = spawnPgTool(
      "pg_dump",
      ["--format=custom", `--snapshot=${snap.snapshot}`, "--no-password", "--lock-wait-timeout=5min"],
      { connection: db.toolConnection(), stdout: "pipe", stdoutBuffer: PG_DUMP_STDOUT_BUFFER },
    );
    // The manifest's schema (zod) loads while pg_dump starts, not after the dump.
    setImmediate(manifestSchema);
    // The dump's own table of contents, read from the stream as it passes (pg_restore needs only its
    // head), is checked against the counts with the check restore runs, before the upload may complete.
    const list = spawnPgTool("pg_restore", ["--list"], { stdin: "pipe", stdout: "collect" });
    const dumpUri = s3Uri({ bucket, key: keys.dumpKey });
    const counted = countCritical(client, tables)
      .then((counts) => {
        mark("countsDone");
        return counts;
      })
      .catch((e: unknown) => {
        throw e instanceof DrpError ? e : new DrpError(describePgError(e, db, "counting rows in the export snapshot failed"), 1);
      });
    const listed = list.done.catch(async (e: unknown) => {
      // A pg_dump that failed leaves pg_restore a truncated stream: its own error is the one to report.
      await dump.done;
      throw new DrpError(`pg_dump's output is not readable by pg_restore (${(e as Error).message}); export not recorded`, 1);
    });
    const checked = Promise.all([counted, listed]).then(([counts, toc]) => {
      checkToc(toc, counts, dumpUri);
      return counts;
    });
    checked.catch(() => undefined);
    const digest = new DigestStream(() => Promise.all([dump.done, checked]), list.stdin!, opts.onBytes);
    dump.stdout!.on("error", (e) => digest.destroy(e));
    // A failure here (pg_dump's, the checks') reaches the upload and is reported through dump.done or
    // the checks; until the upload reads the stream, nothing else listens for it.
    digest.on("error", () => undefined);
    // Piped at once: node discards the output of a child that exits before anything reads it.
    dump.stdout!.pipe(digest);

    // pg_dump takes a moment to start (its connection, the catalogs, the table locks): the bucket is
    // checked meanwhile, before anything is uploaded; a failed check stops pg_dump and reports.
    let bucketDefault: BucketDefaultRetention;
    let pgDumpVersion: string;
    try {
      [bucketDefault, , pgDumpVersion] = await Promise.all([readBucketDefaultRetention(s3, bucket), refuseExisting(s3, bucket, keys.manifestKey), pgToolVersion("pg_dump")]);
    } catch (e) {
      dump.kill();
      list.kill();
      dump.stdout!.destroy();
      digest.destroy();
      await Promise.all([dump.done.catch(() => undefined), list.done.catch(() => undefined)]);
      throw e;
    }
    mark("checksDone");

    skipPartPayloadHash(s3);
    const guard = guardMultipartUpload(s3, bucket, keys.dumpKey, abortTimeoutMs);
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: keys.dumpKey, Body: digest, ContentType: "application/octet-stream" },
      partSize: opts.partSize ?? partSizeFor(snap.databaseBytes),
      queueSize: opts.queueSize ?? DEFAULT_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const uploaded = upload.done().then((out) => {
      mark("uploadDone");
      return out;
    });
    uploaded.catch(() => undefined);
    // Stops lib-storage sending parts, then aborts the upload by its id and waits for S3 to confirm.
    const abortUpload = () => {
      void upload.abort();
      digest.destroy();
      return guard.abort();
    };
    // Interrupted (Ctrl-C, ECS stop): pg_dump is stopped by its runner first; then the upload is
    // aborted and the snapshot ended here, before drp exits 130/143.
    const forgetUpload = onInterrupt(
      async () => {
        const [why] = await Promise.all([abortUpload(), endSnapshot()]);
        if (why) process.stderr.write(`drp: warning: ${abortFailedNote(dumpUri, why)}\n`);
      },
      false,
      abortTimeoutMs,
    );
    const dumpStarted = performance.now();
    let dumpSeconds = 0;
    void dump.done.then(
      () => {
        mark("dumpEnd");
        dumpSeconds = since(dumpStarted);
      },
      () => undefined,
    );
    let versionId: string | undefined;
    let counts: CriticalCounts;
    try {
      const [up, , checkedCounts] = await Promise.all([
        uploaded.catch((e: unknown) => {
          throw e instanceof DrpError ? e : new DrpError(describeS3Error(e, `uploading ${dumpUri} failed`), 1);
        }),
        dump.done,
        checked,
      ]);
      versionId = up.VersionId;
      counts = checkedCounts;
    } catch (e) {
      dump.kill();
      list.kill();
      // An exited pg_dump whose output is no longer read would never report as done.
      dump.stdout!.destroy();
      const [why] = await Promise.all([abortUpload(), endSnapshot(), dump.done.catch(() => undefined), list.done.catch(() => undefined)]);
      if (why) throw new DrpError(`${(e as Error).message}; ${abortFailedNote(dumpUri, why)}`, e instanceof DrpError ? e.exitCode : 1);
      throw e;
    } finally {
      forgetUpload();
      guard.dispose();
    }

    const finishStarted = performance.now();
    try {
      await client.query("COMMIT");
      mark("committed");
    } catch (e) {
      throw new DrpError(describePgError(e, db, "closing the export snapshot failed"), 1);
    }

    let head;
    try {
      head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.dumpKey, VersionId: versionId }));
    } catch (e) {
      throw new DrpError(describeS3Error(e, `cannot read back s3://${bucket}/${keys.dumpKey}`), 1);
    }
    mark("readBackDone");
    if (head.ContentLength !== digest.bytes)
      throw new DrpError(`s3://${bucket}/${keys.dumpKey} holds ${head.ContentLength} bytes but ${digest.bytes} were streamed; export not recorded`, 1);

    const warnings: string[] = [];
    const retainUntil = head.ObjectLockRetainUntilDate ? new Date(head.ObjectLockRetainUntilDate).toISOString() : null;
    if (!bucketDefault) warnings.push(`bucket ${bucket} has no Object Lock default retention: the dump is not protected against deletion`);
    else if (!retainUntil) warnings.push(`the bucket's default retention (${bucketDefault.mode}) is not reported on the dump; check the bucket's Object Lock configuration`);

    const manifest: Manifest = manifestSchema().parse({
      formatVersion: MANIFEST_FORMAT_VERSION,
      kind: "postgres-export",
      createdBy: `drp ${drpVersion}`,
      source: {
        name: db.exportName,
        serverVersion: snap.serverVersion,
        serverVersionNum: snap.serverVersionNum,
        pgDumpVersion,
        ...(snap.identity.systemIdentifier ? { systemIdentifier: snap.identity.systemIdentifier } : {}),
        database: snap.identity.database,
      },
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      objects: { bucket, manifestKey: keys.manifestKey, dumpKey: keys.dumpKey },
      dump: {
        format: "pg_dump-custom",
        bytes: digest.bytes,
        sha256: digest.digest(),
        versionId: versionId ?? head.VersionId ?? null,
        objectLock: { bucketDefault, mode: head.ObjectLockMode ?? null, retainUntil },
      },
      rowCounts: counts.rowCounts,
      partitions: counts.partitions ?? {},
      warnings,
    } satisfies Manifest);

    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: keys.manifestKey,
          Body: `${JSON.stringify(manifest, null, 2)}\n`,
          ContentType: "application/json",
        }),
      );
    } catch (e) {
      throw new DrpError(describeS3Error(e, `writing the manifest s3://${bucket}/${keys.manifestKey} failed (the dump without it is incomplete; rerun the export)`), 1);
    }
    mark("manifestWritten");
    return { manifestUri: s3Uri({ bucket, key: keys.manifestKey }), manifest, timings: { dumpSeconds, finishSeconds: since(finishStarted) } };
  } finally {
    await endSnapshot();
  }
}
