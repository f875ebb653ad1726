/**
 * The DR promise end to end, against real PostgreSQL and a real S3 server: export, verify, restore into
 * a fresh database, and the two databases dump identically.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { buildProgram } from "../../scripts/drp";
import { pgToolPath, runPgTool } from "../../scripts/lib/pg-tools";
import { connectionFromUrl } from "../../scripts/data/connection";
import { exportDatabase } from "../../scripts/data/export";
import { parseManifest } from "../../scripts/data/manifest";
import { restoreExport } from "../../scripts/data/restore";
import { verifyExport } from "../../scripts/data/verify";
import { startMoto, type MotoServer } from "../harness/moto";
import { startPostgres, type PgServer } from "../harness/postgres";
import { oneLineError, runDrp, runDrpInProcess } from "../harness/cli";
import { startTogether } from "../harness/together";
import { CRITICAL_TABLES, SHOP_SQL } from "./fixtures";

const BUCKET = "livestreamsell-dr-test";

let pg: PgServer;
let moto: MotoServer;
let sourceUrl: string;
let scratch: string;

/** The marks a DRP_TIMINGS file holds, in the order they were reached. */
function marksInOrder(file: string): string[] {
  const t = JSON.parse(readFileSync(file, "utf8")) as { timeOrigin: number; marks: Record<string, number>; totals: Record<string, number> };
  expect(t.timeOrigin).toBeGreaterThan(Date.parse("2026-01-01"));
  expect(t.totals.hashMs).toBeGreaterThan(0);
  return Object.entries(t.marks)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
}

/** A plain-SQL dump of schema and data, the reference for "identical". */
async function plainDump(url: string): Promise<string> {
  return runPgTool("pg_dump", ["--format=plain", "--restrict-key=drptest", "--no-password"], connectionFromUrl(url).toolConnection());
}

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "drp-roundtrip-"));
  [pg, moto] = await startTogether(startPostgres(), startMoto());
  await moto.createBucket(BUCKET);
  sourceUrl = await pg.createDatabase("shop_source");
  await pg.sql("shop_source", SHOP_SQL);
});

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await Promise.all([moto?.stop(), pg?.stop()]);
});

describe("export, verify and restore round trip", () => {
  let manifestUri: string;

  it("exports through the CLI as the ECS task does, with bucket, prefix and tables from the environment", async () => {
    const timings = join(scratch, "export.json");
    const r = await runDrp(["export", "--json"], {
      DRP_TIMINGS: timings,
      ...moto.env,
      DATABASE_URL: sourceUrl,
      DRP_EXPORT_BUCKET: BUCKET,
      DRP_EXPORT_PREFIX: "exports/",
      DRP_CRITICAL_TABLES: CRITICAL_TABLES.join(","),
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.manifest).toMatch(new RegExp(`^s3://${BUCKET}/exports/shop_source/\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z/manifest\\.json$`));
    expect(out.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(out.bytes).toBeGreaterThan(10_000);
    expect(out.rowCounts).toEqual({
      "public.orders": 504,
      "public.order_states": 504,
      "public.audit_logs": 300,
      "shop.customers": 4,
      "shop.AuditTrail": 2,
    });
    manifestUri = out.manifest;
    // The benchmark's marks: the manifest is written only after the upload, the counts and the read-back.
    const marks = marksInOrder(timings);
    expect(marks[0]).toBe("main");
    expect(marks.indexOf("snapshotOpen")).toBeLessThan(marks.indexOf("firstByte"));
    for (const before of ["dumpEnd", "uploadDone", "countsDone", "readBackDone"]) expect(marks.indexOf(before)).toBeLessThan(marks.indexOf("manifestWritten"));
    expect(marks.at(-1)).toBe("manifestWritten");
  });

  it("runs pg_dump with a 1 MiB stdout buffer (coreutils' stdbuf), so its archive reaches drp in full reads", async () => {
    // A pg_dump found through DRP_PG_BIN that notes the buffer stdbuf gave it, then runs the real one.
    const bin = mkdtempSync(join(tmpdir(), "drp-pgbin-"));
    try {
      writeFileSync(join(bin, "pg_dump"), `#!/bin/sh\nprintf '%s %s\\n' "$1" "$_STDBUF_O" >> ${bin}/runs\nexec ${pgToolPath("pg_dump")} "$@"\n`);
      chmodSync(join(bin, "pg_dump"), 0o755);
      const r = await runDrp(["export", "--bucket", BUCKET, "--prefix", "buffered/", "--critical-tables", CRITICAL_TABLES.join(","), "--json"], {
        ...moto.env,
        DATABASE_URL: sourceUrl,
        DRP_PG_BIN: bin,
      });
      expect(r.code).toBe(0);
      // The dump itself runs with the buffer; `pg_dump --version` (read for the manifest) needs none.
      const runs = readFileSync(join(bin, "runs"), "utf8").split("\n").filter(Boolean).sort();
      expect(runs).toEqual(["--format=custom 1048576", "--version "]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("records the dump's checksum, versions, keys and Object Lock retention in a manifest written next to it", async () => {
    const key = manifestUri.replace(`s3://${BUCKET}/`, "");
    const obj = await moto.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const m = parseManifest(await obj.Body!.transformToString(), manifestUri);
    expect(m.objects.dumpKey).toBe(key.replace(/manifest\.json$/, "db.dump"));
    expect(m.source.serverVersionNum).toBeGreaterThanOrEqual(150000);
    expect(m.source.pgDumpVersion).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(m.dump.versionId).toBeTruthy();
    expect(m.dump.objectLock.bucketDefault).toEqual({ mode: "GOVERNANCE", days: 1 });
    expect(m.dump.objectLock.mode).toBe("GOVERNANCE");
    const until = Date.parse(m.dump.objectLock.retainUntil!);
    expect(until - Date.parse(m.startedAt)).toBeGreaterThan(23 * 3600e3);
    expect(Date.parse(m.finishedAt)).toBeGreaterThanOrEqual(Date.parse(m.startedAt));
    expect(m.warnings).toEqual([]);
  });

  it("verifies the export from the stream, and by restoring it into a scratch database that is dropped after", async () => {
    const streamed = await verifyExport({ s3: moto.s3, uri: manifestUri });
    expect(streamed.tocEntries).toBeGreaterThan(100);
    expect(streamed.restoreTest).toBeNull();

    const r = await runDrp(["verify", manifestUri, "--restore-test", "--json"], { ...moto.env, DATABASE_URL: pg.url });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.restoreTest.rowCounts).toEqual(out.rowCounts);
    const leftovers = await query(pg.url, "SELECT datname FROM pg_database WHERE datname LIKE 'drp_verify_%'");
    expect(leftovers).toEqual([]);
  });

  it("restores into a fresh database that pg_dump finds identical to the source, sequences included", async () => {
    const targetUrl = await pg.createDatabase("shop_restored");
    const timings = join(scratch, "restore.json");
    const r = await runDrp(["restore", manifestUri, "--target", targetUrl, "--json"], { ...moto.env, DRP_TIMINGS: timings });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.singleTransaction).toBe(true);
    expect(out.rowCounts["public.orders"]).toBe(504);

    const [source, restored] = await Promise.all([plainDump(sourceUrl), plainDump(targetUrl)]);
    expect(restored.length).toBeGreaterThan(100_000);
    expect(restored).toBe(source);
    const [seq] = await query<{ n: string }>(targetUrl, "SELECT nextval('shop.invoice_seq') AS n");
    expect(seq.n).toBe("4243");
    const [order] = await query<{ receipt: Buffer; payload: unknown }>(targetUrl, "SELECT receipt, payload FROM orders WHERE id = 1");
    expect(order.receipt.toString("hex")).toBe("00ff7f80".repeat(64));
    expect(order.payload).toEqual({ items: [{ sku: "ÇÃO-1", qty: 2 }], emoji: "🎁", nested: { null: null } });
    const marks = marksInOrder(timings);
    expect(marks.indexOf("firstByte")).toBeLessThan(marks.indexOf("pgRestoreDone"));
    expect(marks.at(-1)).toBe("countsDone");
  });

  it("restores in parallel with --jobs when asked, and says it was not one transaction", async () => {
    const targetUrl = await pg.createDatabase("shop_parallel");
    const result = await restoreExport({ s3: moto.s3, uri: manifestUri, target: connectionFromUrl(targetUrl), jobs: 2 });
    expect(result.singleTransaction).toBe(false);
    expect(await plainDump(targetUrl)).toBe(await plainDump(sourceUrl));
  });

  it("names exports after the Supabase project ref and falls back to the database name", () => {
    expect(connectionFromUrl("postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres").exportName).toBe("abcdefghijklmnopqrst");
    expect(connectionFromUrl("postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-sa-east-1.pooler.supabase.com:5432/postgres").exportName).toBe(
      "abcdefghijklmnopqrst",
    );
    expect(connectionFromUrl("postgresql://u@host/Shop_DB").exportName).toBe("shop_db");
  });
});

describe("export input", () => {
  it("fails on a missing critical table before writing anything", async () => {
    const before = await moto.listKeys(BUCKET, "missing/");
    await expect(
      exportDatabase({ s3: moto.s3, bucket: BUCKET, prefix: "missing/", criticalTables: ["orders", "refunds"], db: connectionFromUrl(sourceUrl) }),
    ).rejects.toThrow(/^critical table refunds not found in the database; fix --critical-tables/);
    expect(await moto.listKeys(BUCKET, "missing/")).toEqual(before);
  });

  it("rejects invalid table names from flags, environment and config with exit code 2", async () => {
    const flag = await runDrp(["export", "--bucket", BUCKET, "--critical-tables", "orders,orders; DROP TABLE orders"], { ...moto.env, DATABASE_URL: sourceUrl });
    expect(flag.code).toBe(2);
    expect(oneLineError(flag)).toContain('--critical-tables: "orders; DROP TABLE orders" is not a valid table name');

    const env = await runDrpInProcess(["export", "--bucket", BUCKET], { DATABASE_URL: sourceUrl, DRP_CRITICAL_TABLES: 'public."orders"' });
    expect(env.error).toMatchObject({ exitCode: 2, message: expect.stringContaining('DRP_CRITICAL_TABLES: "public.\"orders\"" is not a valid table name') });

    const config = await runDrpInProcess(["export", "--bucket", BUCKET], { DATABASE_URL: sourceUrl, DRP_CRITICAL_TABLES: undefined, DRP_CONFIG: "/nonexistent/drp.json" });
    expect(config.error).toMatchObject({ exitCode: 2, message: expect.stringContaining("cannot read configuration /nonexistent/drp.json") });
    expect(await moto.listKeys(BUCKET, "exports/shop_source/")).toHaveLength(2);
  });

  it("refuses a DRP_TIMINGS file in a directory that does not exist, with exit code 2", async () => {
    const r = await runDrp(["export", "--bucket", BUCKET], { ...moto.env, DATABASE_URL: sourceUrl, DRP_TIMINGS: "/nonexistent-drp-dir/t.json" });
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toBe('drp: DRP_TIMINGS="/nonexistent-drp-dir/t.json": directory /nonexistent-drp-dir does not exist; point it at a file in an existing directory or unset it');
  });

  it("needs a bucket and a database, and says how to give them", async () => {
    const noBucket = await runDrp(["export"], { DRP_EXPORT_BUCKET: undefined });
    expect(noBucket.code).toBe(2);
    expect(oneLineError(noBucket)).toBe("drp: no bucket: pass --bucket NAME or set DRP_EXPORT_BUCKET");
    const noDb = await runDrpInProcess(["export", "--bucket", BUCKET, "--critical-tables", "orders"], { DATABASE_URL: undefined, PGHOST: undefined, PGDATABASE: undefined });
    expect(noDb.error).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^no database configured: set DATABASE_URL/) });
  });

  it("documents every data command with --help", () => {
    const program = buildProgram();
    for (const name of ["export", "verify", "restore", "pitr"]) {
      const help = program.commands.find((c) => c.name() === name)!.helpInformation();
      expect(help).toContain(`Usage: drp ${name}`);
      expect(help).toContain("--json");
    }
  });
});
