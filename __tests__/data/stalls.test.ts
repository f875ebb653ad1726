/**
 * Interrupted and stalled transfers, against real moto through a TCP proxy that stalls mid-transfer and
 * a real PostgreSQL: an interrupted or stalled export aborts its multipart upload before exiting, writes
 * no manifest and leaves no snapshot transaction behind; a stalled download fails verify and restore in
 * one line naming the endpoint, bounded by the idle timeout.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { DumpPrefetch, dumpObject, loadManifest, streamDump } from "../../scripts/data/artifact";
import { connectionFromUrl } from "../../scripts/data/connection";
import { createS3Client } from "../../scripts/lib/s3";
import { CLIENT_CHECK_INTERVAL_MS, exportDatabase } from "../../scripts/data/export";
import { startMoto, type MotoServer } from "../harness/moto";
import { startPostgres, type PgServer } from "../harness/postgres";
import { startStallProxy, type StallProxy } from "../harness/stall-proxy";
import { exited, oneLineError, runDrp, spawnDrp } from "../harness/cli";
import { startTogether } from "../harness/together";

const BUCKET = "livestreamsell-dr-stalls";
const MiB = 1024 * 1024;
const IDLE_MS = 1500;

let pg: PgServer;
let moto: MotoServer;
let sourceUrl: string;
let manifestUri: string;
let watcher: Client;
const proxies: StallProxy[] = [];

async function proxy(opts: Omit<Parameters<typeof startStallProxy>[0], "targetPort">): Promise<StallProxy> {
  const p = await startStallProxy({ targetPort: moto.port, ...opts });
  proxies.push(p);
  return p;
}

async function uploadsUnder(prefix: string): Promise<{ Key?: string; UploadId?: string }[]> {
  return (await moto.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }))).Uploads ?? [];
}

/** The export's own session and pg_dump's, on the source database; given a few seconds to go. */
async function exportSessionsLeft(): Promise<number> {
  const count = async () =>
    (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name IN ('drp-export', 'pg_dump')")).rows[0].n as number;
  const until = Date.now() + 5_000;
  while ((await count()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return count();
}

/** Polls `check` while the export runs; an export that ended first is a failure of the test's setup. */
async function waitFor(what: string, child: ReturnType<typeof spawnDrp>, check: () => Promise<boolean>, ms = 40_000): Promise<void> {
  const until = Date.now() + ms;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`drp exited (${child.exitCode}) before ${what}: ${stderr}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  [pg, moto] = await startTogether(startPostgres(), startMoto());
  await moto.createBucket(BUCKET);
  sourceUrl = await pg.createDatabase("stall_source");
  // About 15 MB once compressed: two 8 MiB parts.
  await pg.sql(
    "stall_source",
    `CREATE TABLE orders (id int, a text, b text);
     INSERT INTO orders SELECT g, md5(g::text) || md5((g * 7)::text), md5((g * 13)::text) FROM generate_series(1, 250000) g;`,
  );
  watcher = new Client({ connectionString: sourceUrl });
  await watcher.connect();
  manifestUri = (await exportDatabase({ s3: moto.s3, bucket: BUCKET, prefix: "good/", criticalTables: ["orders"], db: connectionFromUrl(sourceUrl) })).manifestUri;
}, 120_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await watcher?.end();
  await Promise.all([moto?.stop(), pg?.stop()]);
});

describe("an interrupted export", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("on %s with a part uploaded and the next in flight: aborts the upload, ends the snapshot, no manifest, exit %i", async (signal, code) => {
    // Part 1 goes through; part 2 stalls in flight (the abort, a new request, still gets through).
    const p = await proxy({ match: /partNumber=2\b/, upBytes: MiB });
    const prefix = `interrupted-${signal.toLowerCase()}/`;
    const child = spawnDrp(["export", "--bucket", BUCKET, "--prefix", prefix, "--critical-tables", "orders"], {
      ...moto.env,
      AWS_ENDPOINT_URL_S3: p.url,
      DATABASE_URL: sourceUrl,
    });
    const done = exited(child);
    await waitFor("part 1 uploaded and part 2 stalled", child, async () => {
      const [upload] = await uploadsUnder(prefix);
      if (!upload || p.stalled() === 0) return false;
      const parts = await moto.s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: upload.Key, UploadId: upload.UploadId }));
      return (parts.Parts ?? []).length >= 1;
    });
    child.kill(signal);
    const r = await done;
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([`drp: interrupted by ${signal}; cleaning up`]);
    expect(r.code).toBe(code);
    expect(await uploadsUnder(prefix)).toEqual([]);
    expect(await moto.listKeys(BUCKET, prefix)).toEqual([]);
    expect(await exportSessionsLeft()).toBe(0);
  });

  it("when even the abort gets no answer: waits DRP_S3_ABORT_TIMEOUT_MS, says the lifecycle rule removes the parts, exit 130", async () => {
    // Part 2 and every DELETE (AbortMultipartUpload) go nowhere.
    const p = await proxy({ match: /partNumber=2\b|^DELETE /, upBytes: 0 });
    const prefix = "abort-unanswered/";
    const child = spawnDrp(["export", "--bucket", BUCKET, "--prefix", prefix, "--critical-tables", "orders"], {
      ...moto.env,
      AWS_ENDPOINT_URL_S3: p.url,
      DATABASE_URL: sourceUrl,
      DRP_S3_ABORT_TIMEOUT_MS: "1000",
    });
    const done = exited(child);
    await waitFor("part 2 stalled", child, async () => (await uploadsUnder(prefix)).length > 0 && p.stalled() > 0);
    const interrupted = Date.now();
    child.kill("SIGINT");
    const r = await done;
    const took = Date.now() - interrupted;
    expect(r.code).toBe(130);
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines[0]).toBe("drp: interrupted by SIGINT; cleaning up");
    expect(lines[1]).toMatch(
      /^drp: warning: the unfinished upload of s3:\/\/livestreamsell-dr-stalls\/abort-unanswered\/.*\/db\.dump could not be aborted \(.*\); the DR bucket's abort-incomplete-uploads lifecycle rule removes its parts after a day$/,
    );
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(20_000);
    expect(await moto.listKeys(BUCKET, prefix)).toEqual([]);
    expect(await exportSessionsLeft()).toBe(0);
    for (const u of await uploadsUnder(prefix)) await moto.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: u.Key, UploadId: u.UploadId }));
  });
  it("whose count waits behind a lock: its session ends within seconds of drp's exit, not when the lock is released", async () => {
    const holder = new Client({ connectionString: sourceUrl });
    await holder.connect();
    try {
      await holder.query("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
      const child = spawnDrp(["export", "--bucket", BUCKET, "--prefix", "locked/", "--critical-tables", "orders"], { ...moto.env, DATABASE_URL: sourceUrl });
      const done = exited(child);
      const waiting = async () =>
        (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'drp-export' AND wait_event_type = 'Lock'")).rows[0].n as number;
      await waitFor("the export's count waiting on the lock", child, async () => (await waiting()) > 0);
      child.kill("SIGINT");
      expect((await done).code).toBe(130);
      // The lock is still held: only the server's check that drp is gone can end the session.
      const own = async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'drp-export'")).rows[0].n as number;
      const until = Date.now() + 3 * CLIENT_CHECK_INTERVAL_MS;
      while ((await own()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(await own()).toBe(0);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
    }
    expect(await moto.listKeys(BUCKET, "locked/")).toEqual([]);
  });
});

describe("a transfer that stalls mid-way", () => {
  const stalled = (url: string) => `S3 endpoint ${url} stalled: no data either way for ${IDLE_MS} ms (DRP_S3_IDLE_TIMEOUT_MS); check the network and AWS_ENDPOINT_URL_S3, or raise DRP_S3_IDLE_TIMEOUT_MS`;

  it("fails the export in one line naming the endpoint, within the SDK's 3 attempts of the idle timeout; aborts the upload, ends the snapshot, no manifest", async () => {
    // Every part upload stops after 1 MiB, retries included; small requests pass.
    const p = await proxy({ match: /partNumber=/, upBytes: MiB });
    const prefix = "stalled-export/";
    const started = Date.now();
    const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", prefix, "--critical-tables", "orders"], {
      ...moto.env,
      AWS_ENDPOINT_URL_S3: p.url,
      DATABASE_URL: sourceUrl,
      DRP_S3_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
    const took = Date.now() - started;
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toMatch(new RegExp(`^drp: uploading s3://${BUCKET}/${prefix}.*/db\\.dump failed: ${escape(stalled(p.url))}$`));
    expect(p.stalled()).toBeGreaterThanOrEqual(3);
    expect(took).toBeGreaterThanOrEqual(IDLE_MS);
    // 3 attempts of the idle timeout, the SDK's backoff between them, and drp's start-up on a loaded machine.
    expect(took).toBeLessThan(3 * IDLE_MS + 30_000);
    expect(await uploadsUnder(prefix)).toEqual([]);
    expect(await moto.listKeys(BUCKET, prefix)).toEqual([]);
    expect(await exportSessionsLeft()).toBe(0);
  });

  it("fails verify and restore when the dump's download stalls, within the idle timeout; the target and the temp dir are left clean", async () => {
    // The manifest and the HEAD of the dump pass; the dump's body stops after 1 MiB.
    const p = await proxy({ match: /^GET [^ ]*db\.dump/, downBytes: MiB });
    const env = { ...moto.env, AWS_ENDPOINT_URL_S3: p.url, DRP_S3_IDLE_TIMEOUT_MS: String(IDLE_MS) };

    let started = Date.now();
    const verify = await runDrp(["verify", manifestUri], env);
    let took = Date.now() - started;
    expect(verify.code).toBe(1);
    expect(oneLineError(verify)).toBe(`drp: reading the dump from S3 failed mid-stream: ${stalled(p.url)}`);
    expect(took).toBeLessThan(IDLE_MS + 20_000);

    const target = await pg.createDatabase("stall_target");
    const work = mkdtempSync(join(tmpdir(), "drp-stall-"));
    try {
      started = Date.now();
      const restore = await runDrp(["restore", manifestUri, "--target", target], { ...env, TMPDIR: work });
      took = Date.now() - started;
      expect(restore.code).toBe(1);
      expect(oneLineError(restore)).toBe(`drp: reading the dump from S3 failed mid-stream: ${stalled(p.url)}`);
      expect(took).toBeLessThan(IDLE_MS + 20_000);
      expect(readdirSync(work).filter((n) => n.startsWith("drp-"))).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const c = new Client({ connectionString: target });
    await c.connect();
    try {
      expect((await c.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
    expect(p.stalled()).toBe(2);
  });
});

describe("the restore's dump prefetch (its GetObject starts while the target is checked)", () => {
  /** An S3 client of its own (no pooled connection), through a proxy that forwards everything and counts connections. */
  async function viaProxy(idleMs?: number) {
    const p = await proxy({ match: /^(?!)/ });
    const env = { ...process.env, ...moto.env, AWS_ENDPOINT_URL_S3: p.url, ...(idleMs ? { DRP_S3_IDLE_TIMEOUT_MS: String(idleMs) } : {}) };
    const s3 = createS3Client(env);
    const loaded = await loadManifest(s3, manifestUri);
    return { p, s3, loaded, connectionsBefore: p.accepted() };
  }
  const until = async (what: string, check: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("hands over the response it started: the whole dump, from that one request", async () => {
    const { p, s3, loaded, connectionsBefore } = await viaProxy();
    const prefetch = new DumpPrefetch(s3, dumpObject(loaded));
    await new Promise((r) => setTimeout(r, 300));
    const digest = await streamDump(await prefetch.take(), null);
    expect(digest).toEqual({ bytes: loaded.manifest.dump.bytes, sha256: loaded.manifest.dump.sha256 });
    // The manifest's connection was kept alive and reused: at most one more for the dump, none after take().
    expect(p.accepted() - connectionsBefore).toBeLessThanOrEqual(1);
    await expect(prefetch.take()).rejects.toThrow("already taken");
    s3.destroy();
  });

  it("replaces a response that broke while it waited (idle timeout) with a new request", async () => {
    const { p, s3, loaded } = await viaProxy(300);
    const prefetch = new DumpPrefetch(s3, dumpObject(loaded));
    // Unread, the response fills the socket's buffers and goes idle: the client's idle timeout ends it.
    await until("the prefetched connection to close", () => p.accepted() >= 1 && p.open() === 0);
    const connections = p.accepted();
    const digest = await streamDump(await prefetch.take(), null);
    expect(digest.sha256).toBe(loaded.manifest.dump.sha256);
    expect(p.accepted()).toBe(connections + 1);
    s3.destroy();
  });

  it("discard() cancels a request still waiting for its response", async () => {
    const { s3, loaded } = await viaProxy();
    // The dump's response never comes.
    const stalling = await proxy({ match: /^GET [^ ]*db\.dump/, downBytes: 0 });
    const s3Stalling = createS3Client({ ...process.env, ...moto.env, AWS_ENDPOINT_URL_S3: stalling.url });
    const prefetch = new DumpPrefetch(s3Stalling, dumpObject(loaded));
    await until("the dump's request to be sent", () => stalling.matched() === 1);
    prefetch.discard();
    await until("the waiting request to be cancelled", () => stalling.open() === 0);
    s3.destroy();
    s3Stalling.destroy();
  });

  it("discard() closes a response nobody took (a failed check must not leave the download open)", async () => {
    const { p, s3, loaded } = await viaProxy();
    const prefetch = new DumpPrefetch(s3, dumpObject(loaded));
    await until("the dump's response to start", () => p.open() >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.open()).toBeGreaterThanOrEqual(1);
    prefetch.discard();
    await until("the prefetched connection to close", () => p.open() === 0);
    await expect(prefetch.take()).rejects.toThrow("already taken or discarded");
    s3.destroy();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
