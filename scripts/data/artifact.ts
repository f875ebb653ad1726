/**
 * Reading an export back from S3: the manifest, the dump it names, and the checks that the dump is
 * exactly what was written (size first, then SHA-256 while streaming).
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { posix } from "node:path";
import { Writable, type Readable } from "node:stream";
import { GetObjectCommand, GetObjectLockConfigurationCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DrpError } from "../lib/cli";
import { addTime, mark, timingsOn } from "../lib/timings";
import { describeS3Error, isS3NotFound, parseS3Uri, s3Status, s3Uri, type S3Location } from "../lib/s3";
import { DUMP_FILE, MANIFEST_FILE, parseManifest, tablesWithData, type CriticalCounts, type Manifest } from "./manifest";

export type BucketDefaultRetention = Manifest["dump"]["objectLock"]["bucketDefault"];

/** The bucket's default Object Lock retention; null if the bucket has no lock configuration. */
export async function readBucketDefaultRetention(s3: S3Client, bucket: string): Promise<BucketDefaultRetention> {
  try {
    const out = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    const cfg = out.ObjectLockConfiguration;
    const rule = cfg?.Rule?.DefaultRetention;
    if (cfg?.ObjectLockEnabled !== "Enabled" || !rule?.Mode) return null;
    return {
      mode: rule.Mode as "GOVERNANCE" | "COMPLIANCE",
      ...(rule.Days ? { days: rule.Days } : {}),
      ...(rule.Years ? { years: rule.Years } : {}),
    };
  } catch (e) {
    if ((e as { name?: string }).name === "ObjectLockConfigurationNotFoundError") return null;
    throw new DrpError(describeS3Error(e, `cannot read bucket ${bucket}`), 1);
  }
}

export interface LoadedManifest {
  readonly manifest: Manifest;
  readonly uri: string;
  readonly location: S3Location;
}

export async function loadManifest(s3: S3Client, uri: string): Promise<LoadedManifest> {
  const location = parseS3Uri(uri, "manifest");
  if (posix.basename(location.key) !== MANIFEST_FILE)
    throw new DrpError(`"${uri}" does not name a ${MANIFEST_FILE}; pass the export's manifest, e.g. s3://BUCKET/exports/NAME/2026-11-27T06-00-00Z/${MANIFEST_FILE}`, 2);
  let text: string;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    text = await out.Body!.transformToString("utf8");
  } catch (e) {
    if (isS3NotFound(e) && (e as { name?: string }).name !== "NoSuchBucket")
      throw new DrpError(`manifest ${uri} not found: the export is missing or incomplete (an export without its manifest is not usable)`, 1);
    throw new DrpError(describeS3Error(e, `cannot read manifest ${uri}`), 1);
  }
  return { manifest: parseManifest(text, uri), uri, location };
}

export interface DumpObject extends S3Location {
  readonly versionId?: string;
}

/**
 * The dump next to the manifest. When the manifest is read where it was written, the exact version it
 * recorded is fetched, so a later overwrite of the key cannot substitute other bytes.
 */
export function dumpObject(loaded: LoadedManifest): DumpObject {
  const { manifest, location } = loaded;
  const key = posix.join(posix.dirname(location.key), DUMP_FILE);
  const inPlace = manifest.objects.bucket === location.bucket && manifest.objects.manifestKey === location.key;
  return { bucket: location.bucket, key, ...(inPlace && manifest.dump.versionId ? { versionId: manifest.dump.versionId } : {}) };
}

/** Fails fast, before any download, when the dump is missing or its size differs from the manifest's. */
export async function checkDumpSize(s3: S3Client, dump: DumpObject, expected: number): Promise<void> {
  let size: number | undefined;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: dump.bucket, Key: dump.key, VersionId: dump.versionId }));
    size = head.ContentLength;
  } catch (e) {
    if (isS3NotFound(e) || s3Status(e) === 400)
      throw new DrpError(`dump ${s3Uri(dump)}${dump.versionId ? ` (version ${dump.versionId})` : ""} not found: the export is incomplete`, 1);
    throw new DrpError(describeS3Error(e, `cannot read dump ${s3Uri(dump)}`), 1);
  }
  if (size !== expected)
    throw new DrpError(`dump ${s3Uri(dump)} is ${size} bytes but the manifest records ${expected}: ${size! < expected ? "truncated" : "altered"} object`, 1);
}

export async function openDump(s3: S3Client, dump: DumpObject, abortSignal?: AbortSignal): Promise<Readable> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: dump.bucket, Key: dump.key, VersionId: dump.versionId }), { abortSignal });
    return out.Body as Readable;
  } catch (e) {
    throw new DrpError(describeS3Error(e, `cannot read dump ${s3Uri(dump)}`), 1);
  }
}

/**
 * A GetObject of the dump started before the restore's checks on the target finish, so S3's time to the
 * first byte overlaps them; the first bytes wait in the socket, unread, until take(). Nothing reaches
 * the target before take(). A prefetch that failed or broke while waiting is replaced by a fresh
 * request at take(), so its error (or a wait longer than the S3 idle timeout) is reported as before.
 */
export class DumpPrefetch {
  private readonly body: Promise<Readable | undefined>;
  private readonly request = new AbortController();
  private broken = false;
  private settled = false;

  constructor(
    private readonly s3: S3Client,
    private readonly dump: DumpObject,
  ) {
    this.body = openDump(s3, dump, this.request.signal).then(
      (b) => {
        // Until taken nothing else listens: an error here must not become an uncaught one.
        b.once("error", () => void (this.broken = true));
        return b;
      },
      () => undefined,
    );
  }

  /** The dump's body, from the prefetch if it is still sound, else from a new GetObject. */
  async take(): Promise<Readable> {
    if (this.settled) throw new Error("the dump prefetch was already taken or discarded");
    this.settled = true;
    const body = await this.body;
    if (body && !this.broken && !body.destroyed) return body;
    body?.destroy();
    return openDump(this.s3, this.dump);
  }

  /** Cancels the request, or closes its response, unless it was taken (a check failed, or the restore went another way). */
  discard(): void {
    if (this.settled) return;
    this.settled = true;
    this.request.abort();
    void this.body.then((b) => b?.destroy());
  }
}

export interface StreamDigest {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Streams the dump once, hashing it and feeding each chunk to `sink` with backpressure. With
 * `mayCloseEarly` a sink that stops reading (pg_restore --list needs only the table of contents) just
 * stops receiving; otherwise a sink failure ends the stream.
 */
export async function streamDump(
  body: Readable,
  sink: Writable | null,
  opts: { mayCloseEarly?: boolean; onBytes?: (n: number) => void } = {},
): Promise<StreamDigest> {
  const hash = createHash("sha256");
  let bytes = 0;
  let open = sink !== null;
  let sinkError: Error | undefined;
  const closed = new Promise<void>((resolve) => {
    if (!sink) return;
    sink.on("error", (e) => {
      sinkError ??= e;
      open = false;
      resolve();
    });
    sink.on("close", () => {
      open = false;
      resolve();
    });
  });
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      if (timingsOn) {
        mark("firstByte");
        const t = performance.now();
        hash.update(buf);
        addTime("hashMs", performance.now() - t);
      } else hash.update(buf);
      bytes += buf.length;
      opts.onBytes?.(bytes);
      if (open && sink && !sink.write(buf)) await Promise.race([new Promise((r) => sink.once("drain", r)), closed]);
      if (!open && sink && !opts.mayCloseEarly) throw sinkError ?? new Error("the destination closed early");
    }
  } catch (e) {
    sink?.destroy();
    body.destroy();
    if (e === sinkError || (e as Error).message === "the destination closed early") throw e;
    throw new DrpError(describeS3Error(e, "reading the dump from S3 failed mid-stream"), 1);
  }
  if (open && sink) sink.end();
  return { bytes, sha256: hash.digest("hex") };
}

/**
 * Bytes of a dump kept from pg_restore until the dump is proven. pg_restore reads a custom-format archive
 * from a pipe in order, to its last byte (header, table of contents, then each table's data blocks; the
 * last block's end marker ends the file), and `--single-transaction` commits only after the last data
 * block: without these bytes it cannot reach its COMMIT.
 */
export const HOLD_BACK_BYTES = 64 * 1024;

/** Settles once `stream` is closed or failed (a pg tool that exited closes its stdin with EPIPE). */
function whenClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    stream.once("close", () => resolve());
    stream.on("error", () => resolve());
  });
}

/**
 * The sink of a streamed restore (with streamDump, `mayCloseEarly`): passes the dump to pg_restore's
 * stdin except its last `holdBytes`, which wait for release() once size, SHA-256 and table of contents
 * are proven, and passes it to `pg_restore --list` until that one has read the table of contents and
 * exits. Either reader going away only stops its own feed: the dump is still read to its end, so the
 * checksum is always known.
 */
export class HeldBackFeed extends Writable {
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  private restoreOpen = true;
  private tocOpen = true;
  private readonly restoreClosed: Promise<void>;
  private readonly tocClosed: Promise<void>;

  constructor(
    private readonly restore: Writable,
    private readonly toc: Writable,
    private readonly holdBytes = HOLD_BACK_BYTES,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.restoreClosed = whenClosed(restore).then(() => void (this.restoreOpen = false));
    this.tocClosed = whenClosed(toc).then(() => void (this.tocOpen = false));
  }

  /** Resolves when `to` can take more, or is gone. */
  private static room(to: Writable, closed: Promise<void>): Promise<void> {
    let drained: () => void = () => undefined;
    return Promise.race([new Promise<void>((r) => to.once("drain", (drained = r))), closed]).finally(() => to.off("drain", drained));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const waits: Promise<void>[] = [];
    if (this.tocOpen && !this.toc.write(chunk)) waits.push(HeldBackFeed.room(this.toc, this.tocClosed));
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    let full = false;
    while (this.heldBytes - this.held[0].length >= this.holdBytes) {
      const out = this.held.shift()!;
      this.heldBytes -= out.length;
      if (this.restoreOpen && !this.restore.write(out)) full = true;
    }
    if (full) waits.push(HeldBackFeed.room(this.restore, this.restoreClosed));
    if (waits.length) void Promise.all(waits).then(() => cb());
    else cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.tocOpen) this.toc.end();
    cb();
  }

  /** The dump is proven: pg_restore gets its last bytes and the end of its input. */
  release(): void {
    const rest = this.held.splice(0);
    this.heldBytes = 0;
    if (!this.restoreOpen) return;
    for (const b of rest) this.restore.write(b);
    this.restore.end();
  }
}

export function checkDigest(got: StreamDigest, manifest: Manifest, where: string): void {
  if (got.bytes !== manifest.dump.bytes)
    throw new DrpError(`dump ${where} streamed ${got.bytes} bytes but the manifest records ${manifest.dump.bytes}: truncated download or object`, 1);
  if (got.sha256 !== manifest.dump.sha256)
    throw new DrpError(`checksum mismatch for ${where}: SHA-256 ${got.sha256} but the manifest records ${manifest.dump.sha256}; the dump is corrupt, do not restore it`, 1);
}

/** Downloads the dump to a local file while hashing, then checks size and SHA-256. */
export async function downloadDump(s3: S3Client, loaded: LoadedManifest, path: string, onBytes?: (n: number) => void): Promise<StreamDigest> {
  const dump = dumpObject(loaded);
  const body = await openDump(s3, dump);
  // A large write buffer: fewer waits for drain, the download runs at the network's pace.
  const file = createWriteStream(path, { flags: "wx", mode: 0o600, highWaterMark: 8 * 1024 * 1024 });
  const fileDone = new Promise<void>((resolve, reject) => {
    file.on("finish", resolve);
    file.on("error", (e) => reject(new DrpError(`cannot write ${path}: ${e.message}`, 1)));
  });
  fileDone.catch(() => undefined);
  let digest: StreamDigest;
  try {
    digest = await streamDump(body, file, { onBytes });
  } catch (e) {
    if (e instanceof DrpError) throw e;
    throw new DrpError(`cannot write ${path}: ${(e as Error).message}`, 1);
  }
  await fileDone;
  checkDigest(digest, loaded.manifest, s3Uri(dump));
  return digest;
}

/** What `pg_restore --list` read from a dump's stream (`listed`), checked with checkToc; a dump it cannot read is one line. */
export function checkListedToc(listed: Promise<string>, counts: CriticalCounts, where: string): Promise<number> {
  return listed.then(
    (list) => checkToc(list, counts, where),
    (e: unknown) => {
      throw new DrpError(`dump ${where} is not readable: ${(e as Error).message}`, 1);
    },
  );
}

/** Table-data entries in `pg_restore --list` output, as schema.table. */
export function tocTableData(list: string): Set<string> {
  const out = new Set<string>();
  for (const line of list.split("\n")) {
    const m = /^\d+; \d+ \d+ TABLE DATA (\S+) (\S+)( |$)/.exec(line);
    if (m) out.add(`${m[1]}.${m[2]}`);
  }
  return out;
}

/**
 * The TOC must list data for every critical table the counts name (for a partitioned one, for each of
 * its leaf partitions). Restore and verify run it on the manifest; export on the same counts before it
 * lets its upload complete, so no export passes that restore would refuse.
 */
export function checkToc(list: string, counts: CriticalCounts, where: string): number {
  const entries = list.split("\n").filter((l) => /^\d+;/.test(l)).length;
  if (entries === 0) throw new DrpError(`dump ${where} has an empty table of contents`, 1);
  const data = tocTableData(list);
  const missing = [...tablesWithData(counts)].filter(([t]) => !data.has(t)).map(([, what]) => what);
  if (missing.length) throw new DrpError(`dump ${where} has no data for ${missing.join(", ")} although the manifest counts it`, 1);
  return entries;
}
