/**
 * Critical tables are what pg_dump really dumps: a partitioned table is the sum of its leaf partitions,
 * relations pg_dump writes no data for are refused before anything is uploaded, and an export whose own
 * table of contents lacks a counted table's data never gets a manifest. Real PostgreSQL and S3 server.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { pgToolPath } from "../../scripts/lib/pg-tools";
import { connectionFromUrl } from "../../scripts/data/connection";
import { exportDatabase } from "../../scripts/data/export";
import { parseManifest } from "../../scripts/data/manifest";
import { restoreExport } from "../../scripts/data/restore";
import { verifyExport } from "../../scripts/data/verify";
import { startMoto, type MotoServer } from "../harness/moto";
import { startPostgres, type PgServer } from "../harness/postgres";
import { oneLineError, runDrp, runDrpInProcess } from "../harness/cli";
import { startTogether } from "../harness/together";

const BUCKET = "livestreamsell-dr-critical";

/**
 * audit_logs by month: a plain partition, a sub-partitioned one in another schema (by action, with its
 * own default), and a default partition. Around it, every kind of relation pg_dump writes no data for.
 */
const SQL = `
CREATE SCHEMA archive;
CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric);
INSERT INTO public.orders SELECT g, g * 1.5 FROM generate_series(1, 40) g;
CREATE TABLE public.audit_logs (id bigint NOT NULL, at timestamptz NOT NULL, action text NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.audit_logs_2026_10 PARTITION OF public.audit_logs FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
CREATE TABLE archive.audit_logs_2026_11 PARTITION OF public.audit_logs FOR VALUES FROM ('2026-11-01') TO ('2026-12-01') PARTITION BY LIST (action);
CREATE TABLE archive.audit_logs_2026_11_login PARTITION OF archive.audit_logs_2026_11 FOR VALUES IN ('login');
CREATE TABLE archive.audit_logs_2026_11_other PARTITION OF archive.audit_logs_2026_11 DEFAULT;
CREATE TABLE public.audit_logs_default PARTITION OF public.audit_logs DEFAULT;
INSERT INTO public.audit_logs SELECT g, '2026-10-01'::timestamptz + make_interval(hours => g), CASE WHEN g % 3 = 0 THEN 'login' ELSE 'reply' END
  FROM generate_series(1, 1800) g;
INSERT INTO public.audit_logs VALUES (9001, '2025-01-01', 'old'), (9002, '2027-06-01', 'future');

CREATE VIEW public.recent_audit AS SELECT * FROM public.audit_logs WHERE at > '2026-11-15';
CREATE MATERIALIZED VIEW public.audit_summary AS SELECT action, count(*) AS n FROM public.audit_logs GROUP BY action;
CREATE FOREIGN DATA WRAPPER drp_test_wrapper;
CREATE SERVER remote FOREIGN DATA WRAPPER drp_test_wrapper;
CREATE FOREIGN TABLE public.remote_orders (id int) SERVER remote;
CREATE SEQUENCE public.invoice_seq;
CREATE TYPE public.money_pair AS (amount numeric, currency text);
CREATE TABLE public.events (id int, region text) PARTITION BY LIST (region);
CREATE TABLE public.events_br PARTITION OF public.events FOR VALUES IN ('br');
CREATE FOREIGN TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('us') SERVER remote;
`;

/** The rows of each leaf, as PostgreSQL routes them. */
const LEAVES = {
  "archive.audit_logs_2026_11_login": 240,
  "archive.audit_logs_2026_11_other": 480,
  "public.audit_logs_2026_10": 743,
  "public.audit_logs_default": 339,
};

let pg: PgServer;
let moto: MotoServer;
let sourceUrl: string;
let manifestUri: string;

async function readManifest(uri: string): Promise<Record<string, unknown>> {
  const key = uri.replace(`s3://${BUCKET}/`, "");
  const out = await moto.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as Record<string, unknown>;
}

async function putManifest(dir: string, from: string, change: (m: Record<string, unknown>) => unknown): Promise<string> {
  const m = change(structuredClone(await readManifest(from))) as Record<string, unknown>;
  const src = from.replace(`s3://${BUCKET}/`, "").replace(/manifest\.json$/, "db.dump");
  const dump = await moto.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: src }));
  await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}db.dump`, Body: Buffer.from(await dump.Body!.transformToByteArray()) }));
  await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}manifest.json`, Body: JSON.stringify(m) }));
  return `s3://${BUCKET}/${dir}manifest.json`;
}

async function count(url: string, table: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  [pg, moto] = await startTogether(startPostgres(), startMoto());
  await moto.createBucket(BUCKET);
  sourceUrl = await pg.createDatabase("partitioned_source");
  await pg.sql("partitioned_source", SQL);
});

afterAll(async () => {
  await Promise.all([moto?.stop(), pg?.stop()]);
});

describe("a partitioned critical table", () => {
  it("is exported as the sum of its leaf partitions, each recorded in the manifest", async () => {
    const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", "exports/", "--critical-tables", "audit_logs,orders", "--json"], {
      ...moto.env,
      DATABASE_URL: sourceUrl,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    manifestUri = JSON.parse(r.stdout).manifest;
    const m = parseManifest(JSON.stringify(await readManifest(manifestUri)), manifestUri);
    expect(m.formatVersion).toBe(2);
    expect(m.rowCounts).toEqual({ "public.audit_logs": 1802, "public.orders": 40 });
    expect(m.partitions).toEqual({ "public.audit_logs": LEAVES });
    expect(Object.values(LEAVES).reduce((a, n) => a + n, 0)).toBe(1802);
  });

  it("passes verify from the stream (the TOC has each leaf's data) and with a restore test, the parent and every leaf counted", async () => {
    const streamed = await verifyExport({ s3: moto.s3, uri: manifestUri });
    expect(streamed.rowCounts).toEqual({ "public.audit_logs": 1802, "public.orders": 40 });

    const r = await runDrp(["verify", manifestUri, "--restore-test", "--json"], { ...moto.env, DATABASE_URL: pg.url });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.restoreTest.rowCounts).toEqual({ "public.audit_logs": 1802, "public.orders": 40 });
  });

  it("restores with its counts checked, rows in the same partitions as in the source", async () => {
    const targetUrl = await pg.createDatabase("partitioned_restored");
    const r = await runDrp(["restore", manifestUri, "--target", targetUrl, "--json"], moto.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rowCounts).toEqual({ "public.audit_logs": 1802, "public.orders": 40 });
    for (const [leaf, n] of Object.entries(LEAVES)) expect(await count(targetUrl, leaf)).toBe(n);
  });

  it("fails a restore whose rows landed in other partitions than the manifest records, naming the leaf", async () => {
    // Same total, different leaves: only the leaf-by-leaf check sees it.
    const moved = await putManifest("copies/moved/", manifestUri, (m) => {
      const leaves = (m.partitions as Record<string, Record<string, number>>)["public.audit_logs"];
      leaves["public.audit_logs_2026_10"] += 1;
      leaves["public.audit_logs_default"] -= 1;
      return m;
    });
    const target = connectionFromUrl(await pg.createDatabase("partitioned_moved"));
    await expect(restoreExport({ s3: moto.s3, uri: moved, target })).rejects.toThrow(
      /row counts differ from the manifest: public\.audit_logs_2026_10 expected 744, found 743; public\.audit_logs_default expected 338, found 339$/,
    );
  });

  it("refuses a manifest whose leaves do not add up to the parent's count", async () => {
    const forged = await putManifest("copies/sum/", manifestUri, (m) => {
      (m.rowCounts as Record<string, number>)["public.audit_logs"] = 1803;
      return m;
    });
    await expect(verifyExport({ s3: moto.s3, uri: forged })).rejects.toThrow(
      /is invalid: partitions\.public\.audit_logs: leaf partitions sum to 1802 rows but rowCounts records 1803/,
    );
  });

  it("still reads format 1 manifests, and refuses unknown formats naming the versions it reads", async () => {
    const plain = await exportDatabase({ s3: moto.s3, bucket: BUCKET, prefix: "plain/", criticalTables: ["orders"], db: connectionFromUrl(sourceUrl) });
    const v1 = await putManifest("copies/v1/", plain.manifestUri, (m) => {
      delete m.partitions;
      return { ...m, formatVersion: 1 };
    });
    expect((await verifyExport({ s3: moto.s3, uri: v1 })).rowCounts).toEqual({ "public.orders": 40 });
    const v3 = await putManifest("copies/v3/", plain.manifestUri, (m) => ({ ...m, formatVersion: 3 }));
    await expect(verifyExport({ s3: moto.s3, uri: v3 })).rejects.toThrow(/has format version 3; this drp reads versions 1 and 2 \(use the drp release that wrote it\)/);
  });
});

describe("relations pg_dump writes no data for", () => {
  const refused: [string, RegExp][] = [
    ["pg_catalog.pg_class", /^critical table pg_catalog\.pg_class is in the system schema pg_catalog, which pg_dump does not dump; leave it out of --critical-tables/],
    ["pg_class", /^critical table pg_catalog\.pg_class is in the system schema pg_catalog/],
    ["information_schema.tables", /^critical table information_schema\.tables is in the system schema information_schema/],
    ["recent_audit", /^critical table public\.recent_audit is a view: pg_dump writes its definition, not rows;/],
    ["audit_summary", /^critical table public\.audit_summary is a materialized view: pg_dump writes a REFRESH, not its rows;/],
    ["remote_orders", /^critical table public\.remote_orders is a foreign table: its rows live on the foreign server and pg_dump writes none;/],
    ["invoice_seq", /^critical table public\.invoice_seq is a sequence: pg_dump writes its value, not rows;/],
    ["orders_pkey", /^critical table public\.orders_pkey is an index, not a table;/],
    ["money_pair", /^critical table public\.money_pair is a composite type, not a table;/],
    ["events", /^critical table public\.events has the partition public\.events_us, which is a foreign table: .*pg_dump writes none;/],
  ];

  it.each(refused)("refuses %s at export in one line, exit 2, with nothing in the bucket", async (table, message) => {
    const prefix = `refused-${table.replace(/[^a-z]/g, "-")}/`;
    const r = await runDrpInProcess(["export", "--bucket", BUCKET, "--prefix", prefix, "--critical-tables", `orders,${table}`], {
      ...moto.env,
      DATABASE_URL: sourceUrl,
    });
    expect(r.error).toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
    expect(r.error!.message).not.toContain("\n");
    expect(await moto.listKeys(BUCKET, prefix)).toEqual([]);
  });

  it("names every refused table at once, through the CLI's one-line error", async () => {
    const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", "refused-all/", "--critical-tables", "recent_audit,audit_logs,invoice_seq"], {
      ...moto.env,
      DATABASE_URL: sourceUrl,
    });
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(
      /^drp: critical table public\.recent_audit is a view: .*; critical table public\.invoice_seq is a sequence: .*; leave it out of --critical-tables, DRP_CRITICAL_TABLES or export\.criticalTables$/,
    );
    expect(await moto.listKeys(BUCKET, "refused-all/")).toEqual([]);
    expect(await moto.pendingUploads(BUCKET)).toBe(0);
  });
});

describe("an export whose own table of contents lacks a counted table's data", () => {
  let binDir: string;

  beforeAll(() => {
    // A site's pg_dump wrapper (found through DRP_PG_BIN, as documented) that leaves one leaf's data out.
    binDir = mkdtempSync(join(tmpdir(), "drp-pgbin-"));
    const wrapper = join(binDir, "pg_dump");
    writeFileSync(wrapper, `#!/bin/sh\nexec ${pgToolPath("pg_dump")} "$@" --exclude-table-data=archive.audit_logs_2026_11_login\n`);
    chmodSync(wrapper, 0o755);
  });

  afterAll(() => rmSync(binDir, { recursive: true, force: true }));

  it("still reports a pg_dump that fails at once as pg_dump's failure, not as the unreadable stream it leaves", async () => {
    const failing = mkdtempSync(join(tmpdir(), "drp-pgbin-"));
    try {
      writeFileSync(join(failing, "pg_dump"), `#!/bin/sh\nexec ${pgToolPath("pg_dump")} "$@" --no-such-option\n`);
      chmodSync(join(failing, "pg_dump"), 0o755);
      const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", "failing/", "--critical-tables", "orders,audit_logs"], {
        ...moto.env,
        DATABASE_URL: sourceUrl,
        DRP_PG_BIN: failing,
      });
      expect(r.code).toBe(1);
      expect(oneLineError(r)).toMatch(/^drp: pg_dump failed: .*no-such-option/);
      expect(await moto.listKeys(BUCKET, "failing/")).toEqual([]);
    } finally {
      rmSync(failing, { recursive: true, force: true });
    }
  });

  it("fails exit 1 before the manifest is written, and leaves neither dump nor pending upload", async () => {
    const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", "skipped/", "--critical-tables", "orders,audit_logs"], {
      ...moto.env,
      DATABASE_URL: sourceUrl,
      DRP_PG_BIN: binDir,
    });
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toMatch(
      /^drp: dump s3:\/\/livestreamsell-dr-critical\/skipped\/partitioned_source\/[0-9TZ-]+\/db\.dump has no data for archive\.audit_logs_2026_11_login \(partition of public\.audit_logs\) although the manifest counts it$/,
    );
    expect(await moto.listKeys(BUCKET, "skipped/")).toEqual([]);
    expect(await moto.pendingUploads(BUCKET)).toBe(0);
  });
});
