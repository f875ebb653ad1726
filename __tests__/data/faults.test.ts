/**
 * Bad input and faults: each gets one clear line naming the cause, and nothing is lost or half-written
 * (no manifest for a failed export, no pending multipart upload, restore targets left as they were).
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { DrpError } from "../../scripts/lib/cli";
import { createS3Client } from "../../scripts/lib/s3";
import { connectionFromUrl } from "../../scripts/data/connection";
import { exportDatabase } from "../../scripts/data/export";
import { pgRestoreArgs, restoreExport } from "../../scripts/data/restore";
import { HeldBackFeed, HOLD_BACK_BYTES } from "../../scripts/data/artifact";
import { pgToolPath, spawnPgTool } from "../../scripts/lib/pg-tools";
import { verifyExport } from "../../scripts/data/verify";
import { startMoto, type MotoServer } from "../harness/moto";
import { freePort, startPostgres, type PgServer } from "../harness/postgres";
import { exited, oneLineError, runDrp, runDrpInProcess, spawnDrp } from "../harness/cli";
import { startTogether } from "../harness/together";
import { CRITICAL_TABLES, SHOP_SQL } from "./fixtures";

const BUCKET = "livestreamsell-dr-faults";

let pg: PgServer;
let moto: MotoServer;
let sourceUrl: string;
let manifestUri: string;
let manifestKey: string;
let dumpBytes: Buffer;
let manifestJson: Record<string, unknown>;
let dbCounter = 0;

async function getBytes(key: string): Promise<Buffer> {
  const out = await moto.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** Copies the good export to another prefix, optionally altering its dump or manifest; returns the copy's manifest URI. */
async function copyExport(name: string, change: { dump?: Buffer | null; manifest?: (m: Record<string, unknown>) => unknown } = {}): Promise<string> {
  const dir = `copies/${name}/`;
  const dump = change.dump === undefined ? dumpBytes : change.dump;
  if (dump) await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}db.dump`, Body: dump }));
  const m = change.manifest ? change.manifest(structuredClone(manifestJson)) : manifestJson;
  await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}manifest.json`, Body: JSON.stringify(m) }));
  return `s3://${BUCKET}/${dir}manifest.json`;
}

async function emptyTarget(): Promise<string> {
  return pg.createDatabase(`target_${++dbCounter}`);
}

async function tablesIn(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ t: string }>(
      "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    return rows.map((r) => r.t);
  } finally {
    await c.end();
  }
}

/** The promise rejects with a DrpError whose message is one line matching `pattern`. */
async function failsWith(p: Promise<unknown>, pattern: RegExp, exitCode: 1 | 2 = 1): Promise<string> {
  const e = await p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DrpError);
  const message = (e as DrpError).message;
  expect(message).not.toContain("\n");
  expect(message).toMatch(pattern);
  expect((e as DrpError).exitCode).toBe(exitCode);
  return message;
}

beforeAll(async () => {
  [pg, moto] = await startTogether(startPostgres(), startMoto());
  await moto.createBucket(BUCKET);
  sourceUrl = await pg.createDatabase("faults_source");
  await pg.sql("faults_source", SHOP_SQL);
  const { manifestUri: uri, manifest } = await exportDatabase({
    s3: moto.s3,
    bucket: BUCKET,
    prefix: "exports/",
    criticalTables: CRITICAL_TABLES,
    db: connectionFromUrl(sourceUrl),
  });
  manifestUri = uri;
  manifestKey = manifest.objects.manifestKey;
  dumpBytes = await getBytes(manifest.objects.dumpKey);
  manifestJson = JSON.parse((await getBytes(manifestKey)).toString("utf8"));
});

afterAll(async () => {
  await Promise.all([moto?.stop(), pg?.stop()]);
});

describe("a damaged or missing export is refused, and the target is left as it was", () => {
  it("detects a checksum mismatch, and restore leaves the target empty", async () => {
    const flipped = Buffer.from(dumpBytes);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    const uri = await copyExport("flipped", { dump: flipped });
    await failsWith(verifyExport({ s3: moto.s3, uri }), /^checksum mismatch for s3:\/\/.*copies\/flipped\/db\.dump: SHA-256 [a-f0-9]{64} but the manifest records/);
    const target = await emptyTarget();
    await failsWith(restoreExport({ s3: moto.s3, uri, target: connectionFromUrl(target) }), /^checksum mismatch/);
    expect(await tablesIn(target)).toEqual([]);
  });

  it("refuses a dump whose checksum is not the manifest's though pg_restore could read it all, and leaves the target empty", async () => {
    // The dump is intact and restorable; only the manifest's SHA-256 differs. (That pg_restore cannot
    // commit before the proof is shown by the two tests after this one.)
    const uri = await copyExport("other-sha", { manifest: (m) => ({ ...m, dump: { ...(m.dump as object), sha256: "0".repeat(64) } }) });
    const target = await emptyTarget();
    await failsWith(
      restoreExport({ s3: moto.s3, uri, target: connectionFromUrl(target) }),
      /^checksum mismatch for s3:\/\/.*copies\/other-sha\/db\.dump: SHA-256 [a-f0-9]{64} but the manifest records 0{64}; the dump is corrupt, do not restore it$/,
    );
    expect(await tablesIn(target)).toEqual([]);
  });

  it("holds pg_restore short of its COMMIT until the held-back bytes are released", async () => {
    // The fixture's dump is small: hold back less than the default, still the dump's whole end.
    const hold = 8 * 1024;
    expect(dumpBytes.length).toBeGreaterThan(4 * hold);
    expect(HOLD_BACK_BYTES).toBeGreaterThanOrEqual(hold);
    const target = await emptyTarget();
    const connection = connectionFromUrl(target).toolConnection();
    const restore = spawnPgTool("pg_restore", pgRestoreArgs({ jobs: 1, force: false, noOwner: false }), { connection, stdin: "pipe" });
    const toc = spawnPgTool("pg_restore", ["--list"], { stdin: "pipe", stdout: "collect" });
    const feed = new HeldBackFeed(restore.stdin!, toc.stdin!, hold);
    for (let at = 0; at < dumpBytes.length; at += 4 * 1024) feed.write(dumpBytes.subarray(at, at + 4 * 1024));
    feed.end();
    await finished(feed);
    expect(await toc.done).toMatch(/TABLE DATA public orders /);
    const watcher = new Client({ connectionString: target });
    await watcher.connect();
    try {
      // pg_restore goes as far as it can, then waits for input inside its open transaction: idle in it
      // for a second on end, not between two statements.
      const waiting = async () =>
        (
          await watcher.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pg_restore' AND state IN ('idle in transaction', 'active') AND wait_event = 'ClientRead' AND state_change < clock_timestamp() - interval '1 second'",
          )
        ).rows[0].n;
      const deadline = Date.now() + 15_000;
      while ((await waiting()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await waiting()).toBe(1);
      expect(restore.child.exitCode).toBeNull();
      expect(await tablesIn(target)).toEqual([]);
    } finally {
      await watcher.end();
    }
    feed.release();
    await restore.done;
    expect(await tablesIn(target)).toEqual(expect.arrayContaining(["public.orders", "public.audit_logs"]));
  });

  it("stops pg_restore before its COMMIT when the table of contents fails the manifest, however long that check takes", async () => {
    // pg_restore --list answers only after 3 s, long after the whole small dump has streamed: a restore
    // that let pg_restore have the dump's end before the check passed would have committed by then.
    const binDir = mkdtempSync(join(tmpdir(), "drp-pgbin-"));
    try {
      writeFileSync(
        join(binDir, "pg_restore"),
        `#!/bin/sh\nif [ "$1" = "--list" ]; then sleep 3; fi\nexec ${pgToolPath("pg_restore")} "$@"\n`,
      );
      chmodSync(join(binDir, "pg_restore"), 0o755);
      for (const tool of ["pg_dump", "psql"]) {
        writeFileSync(join(binDir, tool), `#!/bin/sh\nexec ${pgToolPath(tool as "psql")} "$@"\n`);
        chmodSync(join(binDir, tool), 0o755);
      }
      // The manifest counts a table the dump has no data for.
      const uri = await copyExport("toc-late", { manifest: (m) => ({ ...m, rowCounts: { ...(m.rowCounts as object), "public.never_dumped": 1 } }) });
      const target = await emptyTarget();
      const r = await runDrp(["restore", uri, "--target", target], { ...moto.env, DRP_PG_BIN: binDir });
      expect(r.code).toBe(1);
      expect(oneLineError(r)).toMatch(/^drp: dump s3:\/\/.*copies\/toc-late\/db\.dump has no data for public\.never_dumped although the manifest counts it$/);
      expect(await tablesIn(target)).toEqual([]);
    } finally {
      rmSync(binDir, { recursive: true, force: true });
    }
  });

  it("detects a truncated dump from its size, before downloading it", async () => {
    const uri = await copyExport("truncated", { dump: dumpBytes.subarray(0, dumpBytes.length - 100) });
    await failsWith(verifyExport({ s3: moto.s3, uri }), /^dump s3:\/\/.* is \d+ bytes but the manifest records \d+: truncated object$/);
  });

  it("reports a missing dump and a missing manifest as an incomplete export", async () => {
    const uri = await copyExport("no-dump", { dump: null });
    await failsWith(verifyExport({ s3: moto.s3, uri }), /^dump s3:\/\/.*copies\/no-dump\/db\.dump not found: the export is incomplete$/);
    const missing = `s3://${BUCKET}/copies/never-written/manifest.json`;
    const r = await runDrp(["verify", missing], moto.env);
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toBe(`drp: manifest ${missing} not found: the export is missing or incomplete (an export without its manifest is not usable)`);
  });

  it("reads the version of the dump that the manifest recorded, not a later overwrite of the key", async () => {
    const dumpKey = manifestKey.replace("manifest.json", "db.dump");
    await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: dumpKey, Body: Buffer.alloc(dumpBytes.length, 0) }));
    const ok = await verifyExport({ s3: moto.s3, uri: manifestUri });
    expect(ok.sha256).toBe((manifestJson.dump as { sha256: string }).sha256);
  });

  it("rejects manifests with an unknown format version, malformed keys or invalid table names", async () => {
    const v9 = await copyExport("v9", { manifest: (m) => ({ ...m, formatVersion: 9 }) });
    await failsWith(verifyExport({ s3: moto.s3, uri: v9 }), /has format version 9; this drp reads versions 1 and 2/);

    const badKey = await copyExport("bad-key", { manifest: (m) => ({ ...m, objects: { ...(m.objects as object), dumpKey: "exports/../../etc/db.dump" } }) });
    await failsWith(verifyExport({ s3: moto.s3, uri: badKey }), /is invalid: objects\.dumpKey: must be a plain S3 key/);

    const injected = await copyExport("injected", {
      manifest: (m) => ({ ...m, rowCounts: { 'public.orders"; DROP TABLE public.orders; --': 1 } }),
    });
    const target = await emptyTarget();
    await failsWith(restoreExport({ s3: moto.s3, uri: injected, target: connectionFromUrl(target) }), /is invalid: rowCounts\..*must be a schema-qualified table name/);
    expect(await tablesIn(target)).toEqual([]);

    const notJson = `s3://${BUCKET}/copies/not-json/manifest.json`;
    await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "copies/not-json/manifest.json", Body: "{ truncated" }));
    await failsWith(verifyExport({ s3: moto.s3, uri: notJson }), /is not valid JSON/);
  });

  it("rejects URIs that are not an export's manifest with exit code 2", async () => {
    const r = await runDrpInProcess(["verify", "https://example.com/manifest.json"]);
    expect(r.error).toMatchObject({ exitCode: 2, message: expect.stringContaining("is not an s3:// URI") });
    await failsWith(verifyExport({ s3: moto.s3, uri: `s3://${BUCKET}/exports/db.dump` }), /does not name a manifest\.json/, 2);
  });
});

describe("restore targets", () => {
  it("refuses a non-empty target and leaves it as it was", async () => {
    const target = await emptyTarget();
    await pg.sql(`target_${dbCounter}`, "CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1)");
    const r = await runDrp(["restore", manifestUri, "--target", target], moto.env);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/^drp: restore target 127\.0\.0\.1:\d+\/target_\d+ is not empty \(1 tables: public\.keep_me\); .* pass --force/);
    expect(await tablesIn(target)).toEqual(["public.keep_me"]);
  });

  it("replaces the export's objects in a non-empty target with --force", async () => {
    const target = await emptyTarget();
    const db = `target_${dbCounter}`;
    await pg.sql(db, "CREATE TABLE keep_me (id int); CREATE TABLE audit_logs (stale text); INSERT INTO audit_logs VALUES ('old')");
    const result = await restoreExport({ s3: moto.s3, uri: manifestUri, target: connectionFromUrl(target), force: true });
    expect(result.replacedTables).toBe(2);
    expect(result.rowCounts["public.audit_logs"]).toBe(300);
    expect(await tablesIn(target)).toContain("public.keep_me");
  });

  it("rolls a failed restore back completely: the target has no tables afterwards", async () => {
    const target = await emptyTarget();
    // Not a table, so the target counts as empty; but the dump's index of the same name fails late, after every table and its data.
    await pg.sql(`target_${dbCounter}`, "CREATE SEQUENCE public.orders_created_at_idx");
    await failsWith(
      restoreExport({ s3: moto.s3, uri: manifestUri, target: connectionFromUrl(target) }),
      /^restore into 127\.0\.0\.1:\d+\/target_\d+ failed, the target was left unchanged: pg_restore failed: .*orders_created_at_idx.*already exists/,
    );
    expect(await tablesIn(target)).toEqual([]);
  });
});

describe("unreachable services", () => {
  it("fails an export with an unreachable database in one line, writing nothing", async () => {
    const port = await freePort();
    const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", "unreachable/", "--critical-tables", "orders"], {
      ...moto.env,
      DATABASE_URL: `postgresql://postgres:secret@127.0.0.1:${port}/postgres`,
    });
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toBe(`drp: cannot start the export: cannot reach PostgreSQL at 127.0.0.1:${port}/postgres (ECONNREFUSED); check the URL/PG* variables and that the server is up`);
    expect(r.stderr).not.toContain("secret");
    expect(await moto.listKeys(BUCKET, "unreachable/")).toEqual([]);
  });

  it("fails export, verify and restore with an unreachable S3 endpoint in one line", async () => {
    const port = await freePort();
    const s3 = createS3Client({ ...process.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` });
    const unreachable = new RegExp(`S3 endpoint http://127\\.0\\.0\\.1:${port} unreachable \\(ECONNREFUSED\\)`);
    const saved = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${port}`;
    try {
      await failsWith(exportDatabase({ s3, bucket: BUCKET, prefix: "x/", criticalTables: ["orders"], db: connectionFromUrl(sourceUrl) }), unreachable);
      // pg_dump starts while the bucket is checked: the failed check has stopped it and ended the snapshot.
      const watcher = new Client({ connectionString: sourceUrl });
      await watcher.connect();
      try {
        const sessions = async () =>
          (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name IN ('pg_dump', 'drp-export')")).rows[0].n;
        const gone = Date.now() + 5_000;
        while ((await sessions()) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
        expect(await sessions()).toBe(0);
      } finally {
        await watcher.end();
      }
      await failsWith(verifyExport({ s3, uri: manifestUri }), unreachable);
      const target = await emptyTarget();
      await failsWith(restoreExport({ s3, uri: manifestUri, target: connectionFromUrl(target) }), unreachable);
      expect(await tablesIn(target)).toEqual([]);
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = saved;
      s3.destroy();
    }
  });
});

describe("a connection dropped mid-stream", () => {
  it("aborts the multipart upload and writes no manifest when pg_dump's connection is terminated", async () => {
    await pg.createDatabase("big_source");
    await pg.sql(
      "big_source",
      // About 15 MB once compressed: three 5 MiB parts, so the cut lands mid-upload.
      `CREATE TABLE orders (id int, a text, b text);
       INSERT INTO orders SELECT g, md5(g::text) || md5((g * 7)::text), md5((g * 13)::text) FROM generate_series(1, 250000) g;`,
    );
    const admin = new Client({ connectionString: pg.urlFor("big_source") });
    await admin.connect();
    let terminated: Promise<unknown> | undefined;
    try {
      const message = await failsWith(
        exportDatabase({
          s3: moto.s3,
          bucket: BUCKET,
          prefix: "dropped/",
          criticalTables: ["orders"],
          db: connectionFromUrl(pg.urlFor("big_source")),
          partSize: 5 * 1024 * 1024,
          // Once the first part is on its way, cut pg_dump's server connection.
          onBytes: (n) => {
            if (n > 6 * 1024 * 1024 && !terminated)
              terminated = admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_dump'");
          },
        }),
        /^pg_dump failed: .*(terminating connection|server closed the connection)/i,
      );
      expect(message).toMatch(/orders/);
    } finally {
      await terminated;
      await admin.end();
    }
    expect(terminated).toBeDefined();
    expect(await moto.listKeys(BUCKET, "dropped/")).toEqual([]);
    expect(await moto.pendingUploads(BUCKET)).toBe(0);
  });
});

describe("an operator's Ctrl-C during a restore", () => {
  it("stops pg_restore before drp exits, leaves the target as it was and nothing in TMPDIR, exits 130", async () => {
    const target = await emptyTarget();
    const db = `target_${dbCounter}`;
    await pg.sql(db, "CREATE TABLE audit_logs (stale text); INSERT INTO audit_logs VALUES ('old')");
    // Hold a lock on the table that --force will drop: pg_restore waits on it until it is stopped.
    const holder = new Client({ connectionString: target });
    // pg_stat_activity is a snapshot per transaction: watch from a session outside the holder's.
    const watcher = new Client({ connectionString: target });
    await Promise.all([holder.connect(), watcher.connect()]);
    const work = mkdtempSync(join(tmpdir(), "drp-interrupt-"));
    try {
      await holder.query("BEGIN; LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE");
      const child = spawnDrp(["restore", manifestUri, "--target", target, "--force"], { ...moto.env, TMPDIR: work });
      const done = exited(child);
      const waiting = async () =>
        (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pg_restore' AND wait_event_type = 'Lock'")).rows[0].n;
      const deadline = Date.now() + 30_000;
      while ((await waiting()) === 0) {
        if (Date.now() > deadline) throw new Error("pg_restore never started waiting on the lock");
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill("SIGINT");
      const r = await done;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain("drp: interrupted by SIGINT; cleaning up");
      // pg_restore was stopped before drp exited: no session of it is left to commit later.
      expect(await waiting()).toBe(0);
      // Its server backend, whose client is gone, finishes tearing down (rolling back) on its own schedule:
      // give it a few seconds, then there must be none.
      const sessions = async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pg_restore'")).rows[0].n;
      const gone = Date.now() + 5_000;
      while ((await sessions()) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
      expect(await sessions()).toBe(0);
      // Nothing left in its temporary directory.
      expect(readdirSync(work)).toEqual([]);
      await holder.query("ROLLBACK");
      expect((await holder.query("SELECT stale FROM audit_logs")).rows).toEqual([{ stale: "old" }]);
    } finally {
      await Promise.all([holder.end(), watcher.end()]);
      rmSync(work, { recursive: true, force: true });
    }
  });
});
