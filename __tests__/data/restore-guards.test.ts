/**
 * A restore goes into the database that was checked, never waits forever on a lock and never rolls the
 * export's source back by accident; the pg tools get the same target as drp's checks, and no password on
 * their command line. Against real PostgreSQL and moto, through the CLI as an operator runs it.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { pgToolPath } from "../../scripts/lib/pg-tools";
import { DrpError } from "../../scripts/lib/cli";
import { confirmToolTarget, connectionFromUrl } from "../../scripts/data/connection";
import { exportDatabase } from "../../scripts/data/export";
import { startMoto, type MotoServer } from "../harness/moto";
import { startPostgres, type PgServer } from "../harness/postgres";
import { exited, oneLineError, runDrp, spawnDrp } from "../harness/cli";
import { startTogether } from "../harness/together";
import { CRITICAL_TABLES, SHOP_SQL } from "./fixtures";

const BUCKET = "livestreamsell-dr-guards";

let pg: PgServer;
let moto: MotoServer;
let sourceUrl: string;
let manifestUri: string;
let manifest: Record<string, { [k: string]: unknown }>;
let dbCounter = 0;

async function query<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const tablesIn = async (url: string) =>
  (await query<{ t: string }>(url, "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1", [])).map((r) => r.t);

async function newTarget(): Promise<{ url: string; name: string }> {
  const name = `guard_target_${++dbCounter}`;
  return { url: await pg.createDatabase(name), name };
}

beforeAll(async () => {
  [pg, moto] = await startTogether(startPostgres(), startMoto());
  await moto.createBucket(BUCKET);
  sourceUrl = await pg.createDatabase("guards_source");
  await pg.sql("guards_source", SHOP_SQL);
  const exported = await exportDatabase({ s3: moto.s3, bucket: BUCKET, prefix: "exports/", criticalTables: CRITICAL_TABLES, db: connectionFromUrl(sourceUrl) });
  manifestUri = exported.manifestUri;
  const out = await moto.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: exported.manifest.objects.manifestKey }));
  manifest = JSON.parse(await out.Body!.transformToString("utf8"));
});

afterAll(async () => {
  await Promise.all([moto?.stop(), pg?.stop()]);
});

describe("a session holding a lock on the target", () => {
  it("fails restore --force within the lock timeout, naming the holder's pid and application and how to end it; the target is left as it was", async () => {
    const target = await newTarget();
    await pg.sql(target.name, "CREATE TABLE audit_logs (stale text); INSERT INTO audit_logs VALUES ('old')");
    const holder = new Client({ connectionString: target.url, application_name: "nightly-report" });
    await holder.connect();
    try {
      await holder.query("BEGIN; LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE");
      const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      const child = spawnDrp(["restore", manifestUri, "--target", target.url, "--force", "--lock-timeout", "2s"], moto.env);
      // Today's restore waits forever: bound the test's own wait, then fail it.
      const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const r = await exited(child).finally(() => clearTimeout(guard));
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      const line = oneLineError(r);
      expect(line).toMatch(/^drp: restore into 127\.0\.0\.1:\d+\/guard_target_\d+ failed, the target was left unchanged: waited more than 2s for a lock \(lock timeout\), held by /);
      expect(line).toContain(`pid ${holderPid} (user postgres, application "nightly-report", client 127.0.0.1, idle in transaction since `);
      expect(line).toContain(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${holderPid})`);
      expect(line).toContain("or raise --lock-timeout");
      await holder.query("ROLLBACK");
      expect(await query(target.url, "SELECT stale FROM audit_logs")).toEqual([{ stale: "old" }]);
      expect(await tablesIn(target.url)).toEqual(["public.audit_logs"]);
      // Nothing of the restore is left on the server.
      expect(await query(target.url, "SELECT pid FROM pg_stat_activity WHERE application_name IN ('pg_restore', 'drp-restore', 'drp-restore-watch')")).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  it("is bounded by --statement-timeout when lock waits are unlimited", async () => {
    const target = await newTarget();
    await pg.sql(target.name, "CREATE TABLE audit_logs (stale text)");
    const holder = new Client({ connectionString: target.url });
    await holder.connect();
    try {
      await holder.query("BEGIN; LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE");
      const child = spawnDrp(["restore", manifestUri, "--target", target.url, "--force"], { ...moto.env, DRP_LOCK_TIMEOUT: "0", DRP_STATEMENT_TIMEOUT: "2s" });
      const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const r = await exited(child).finally(() => clearTimeout(guard));
      expect(r.code).toBe(1);
      expect(oneLineError(r)).toMatch(
        /^drp: restore into \S+ failed, the target was left unchanged: a statement ran longer than 2s \(statement timeout\) and was cancelled: DROP \w+ IF EXISTS .*public\.audit_logs; raise --statement-timeout/,
      );
    } finally {
      await holder.end();
    }
  });

  it("refuses a lock timeout that is not a duration with exit 2 before touching anything", async () => {
    const r = await runDrp(["restore", manifestUri, "--target", sourceUrl, "--lock-timeout", "30"], { ...moto.env, DRP_LOCK_TIMEOUT: undefined });
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toBe('drp: --lock-timeout must be a duration such as 500ms, 30s, 5min or 6h (at most 596h), or 0 for no limit (got "30")');
  });
});

describe("the export's own source database", () => {
  it("is recorded in the manifest by system identifier and name", async () => {
    const [row] = await query<{ id: string }>(sourceUrl, "SELECT system_identifier::text AS id FROM pg_control_system()");
    expect(manifest.source).toMatchObject({ systemIdentifier: row.id, database: "guards_source" });
  });

  it("is refused by restore --force with exit 2, and left with its later changes", async () => {
    await pg.sql("guards_source", "INSERT INTO audit_logs (actor, action) VALUES ('after-export', 'kept')");
    const r = await runDrp(["restore", manifestUri, "--target", sourceUrl, "--force"], moto.env);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(
      /^drp: restore target 127\.0\.0\.1:\d+\/guards_source is the export's own source database \(system identifier \d+, database guards_source\): --force would roll it back to \S+ and lose every later change; restore into another database, or add --overwrite-source/,
    );
    expect(await query(sourceUrl, "SELECT count(*)::int AS n FROM audit_logs WHERE actor = 'after-export'")).toEqual([{ n: 1 }]);
  });

  it("is rolled back to the export with --overwrite-source", async () => {
    const r = await runDrp(["restore", manifestUri, "--target", sourceUrl, "--force", "--overwrite-source", "--json"], moto.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rowCounts["public.audit_logs"]).toBe(300);
    expect(await query(sourceUrl, "SELECT count(*)::int AS n FROM audit_logs WHERE actor = 'after-export'")).toEqual([{ n: 0 }]);
  });

  it("is not known to manifests written before it was recorded, which stay readable", async () => {
    const dir = "older/";
    const { systemIdentifier, database, ...olderSource } = manifest.source;
    expect([systemIdentifier, database].every(Boolean)).toBe(true);
    const dumpKey = String(manifest.objects.dumpKey);
    const dump = await moto.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: dumpKey }));
    await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}db.dump`, Body: Buffer.from(await dump.Body!.transformToByteArray()) }));
    await moto.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}manifest.json`, Body: JSON.stringify({ ...manifest, source: olderSource }) }));
    const r = await runDrp(["verify", `s3://${BUCKET}/${dir}manifest.json`, "--json"], moto.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("does not stop a restore into another database of the same server", async () => {
    const target = await newTarget();
    await pg.sql(target.name, "CREATE TABLE keep_me (id int)");
    const r = await runDrp(["restore", manifestUri, "--target", target.url, "--force", "--json"], moto.env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).replacedTables).toBe(1);
  });
});

describe("a target URL that would send the pg tools elsewhere", () => {
  it("is refused by restore with exit 2 when ?dbname= names another, non-empty database, and neither database is touched", async () => {
    const checked = await newTarget();
    const other = await newTarget();
    await pg.sql(other.name, "CREATE TABLE production_data (id int); INSERT INTO production_data VALUES (1)");
    const r = await runDrp(["restore", manifestUri, "--target", `${checked.url}?dbname=${other.name}`], moto.env);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toBe(
      "drp: --target: dbname is not accepted in the query string (it would choose the target outside the URL itself); put the database in the URL's path: postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
    );
    expect(await tablesIn(checked.url)).toEqual([]);
    expect(await tablesIn(other.url)).toEqual(["public.production_data"]);
  });

  it("is refused by verify --restore-test, which restores only into the scratch database it created", async () => {
    const other = await newTarget();
    const r = await runDrp(["verify", manifestUri, "--restore-test", "--scratch-url", `${pg.url}?dbname=${other.name}`], moto.env);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/^drp: --scratch-url: dbname is not accepted in the query string/);
    expect(await tablesIn(other.url)).toEqual([]);
    expect(await query(pg.url, "SELECT datname FROM pg_database WHERE datname LIKE 'drp_verify_%'")).toEqual([]);
  });
});

describe("libpq's own word on where the pg tools connect", () => {
  it("is checked against the database drp inspected, and a mismatch stops before anything is written", async () => {
    const a = await newTarget();
    const [{ id }] = await query<{ id: string }>(a.url, "SELECT system_identifier::text AS id FROM pg_control_system()");
    await expect(confirmToolTarget(connectionFromUrl(a.url), { database: a.name, systemIdentifier: id }, "the restore")).resolves.toBeUndefined();
    const e = await confirmToolTarget(connectionFromUrl(a.url), { database: "somewhere_else", systemIdentifier: id }, "the restore").catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DrpError);
    expect((e as DrpError).exitCode).toBe(1);
    expect((e as DrpError).message).toBe(
      `the pg tools would reach database ${a.name} (system identifier ${id}), not somewhere_else that drp checked on 127.0.0.1:${pg.port}/${a.name}; check the PG* variables and ~/.pg_service.conf, nothing was written`,
    );
  });
});

describe("what the pg tools are given", () => {
  let binDir: string;
  let log: string;

  beforeAll(() => {
    // Wrappers that record each tool's argv and PGPASSWORD, then run the real tool.
    binDir = mkdtempSync(join(tmpdir(), "drp-pg-bin-"));
    log = join(binDir, "calls.log");
    for (const tool of ["pg_dump", "pg_restore"] as const) {
      const real = pgToolPath(tool);
      writeFileSync(
        join(binDir, tool),
        `#!/bin/sh\n{ echo "== ${tool} PGPASSWORD=$PGPASSWORD"; for a in "$@"; do echo "$a"; done; } >> '${log}'\nexec '${real}' "$@"\n`,
      );
      chmodSync(join(binDir, tool), 0o755);
    }
    expect(dirname(pgToolPath("pg_dump"))).not.toBe(binDir);
  });

  afterAll(() => rmSync(binDir, { recursive: true, force: true }));

  it("keeps ?password= off the command line (PGPASSWORD instead) and %20 a space, on export and restore", async () => {
    writeFileSync(log, "");
    const query = "password=s3cret%20pw&application_name=drp%20weekly+export&sslmode=disable";
    const exported = await runDrp(["export", "--bucket", BUCKET, "--prefix", "argv/", "--critical-tables", "orders", "--json"], {
      ...moto.env,
      DRP_PG_BIN: binDir,
      DATABASE_URL: `${sourceUrl}?${query}`,
    });
    expect(exported.stderr).toBe("");
    expect(exported.code).toBe(0);
    const target = await newTarget();
    const restored = await runDrp(["restore", JSON.parse(exported.stdout).manifest, "--target", `${target.url}?${query}`], { ...moto.env, DRP_PG_BIN: binDir });
    expect(restored.stderr).toBe("");
    expect(restored.code).toBe(0);

    const calls = readFileSync(log, "utf8");
    const argv = calls
      .split("\n")
      .filter((l) => !l.startsWith("== "))
      .join("\n");
    expect(argv).not.toContain("s3cret");
    expect(calls).toContain("== pg_dump PGPASSWORD=s3cret pw");
    expect(calls).toContain("== pg_restore PGPASSWORD=s3cret pw");
    expect(argv).toContain(`--dbname=host='127.0.0.1' port='${pg.port}' user='postgres' dbname='guards_source' sslmode='disable' application_name='drp weekly+export'`);
    expect(argv).toContain(`dbname='${target.name}' sslmode='disable' application_name='drp weekly+export'`);
  });
});
