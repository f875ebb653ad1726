/** Input handling of the data commands that needs no server: names, prefixes, keys, connections, tool errors. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DrpError } from "../../scripts/lib/cli";
import { pgToolPath, spawnPgTool, stdbufPath, summarizeToolError, toolCommand, toolEnv } from "../../scripts/lib/pg-tools";
import { parseS3Uri } from "../../scripts/lib/s3";
import { connectionFromEnv, connectionFromPgEnv, connectionFromUrl, LIBPQ_KEYWORDS } from "../../scripts/data/connection";
import { checkPrefix, exportKeys, parseTableList } from "../../scripts/data/manifest";
import { pgRestoreArgs } from "../../scripts/data/restore";
import { countSql } from "../../scripts/data/tables";
import { restoreTimeouts } from "../../scripts/data/timeouts";
import { describeBlockers } from "../../scripts/data/session-watch";

describe("critical table names", () => {
  it("accepts plain and schema-qualified names and drops duplicates", () => {
    expect(parseTableList(" orders, shop.order_states ,orders,", "--critical-tables")).toEqual(["orders", "shop.order_states"]);
  });

  it.each(['orders"', "orders;drop", "a.b.c", "1orders", "my table"])("rejects %j", (bad) => {
    expect(() => parseTableList(`orders,${bad}`, "DRP_CRITICAL_TABLES")).toThrow(/DRP_CRITICAL_TABLES: ".*" is not a valid table name/);
  });

  it("rejects an empty list", () => {
    expect(() => parseTableList(" , ", "--critical-tables")).toThrow(/--critical-tables is empty/);
  });

  it("quotes every identifier it counts", () => {
    expect(countSql("shop.AuditTrail")).toBe('SELECT count(*) AS n FROM "shop"."AuditTrail"');
  });
});

describe("export keys", () => {
  it("lays out <prefix><name>/<UTC time>/ with the dump and the manifest side by side", () => {
    expect(exportKeys("exports/", "abcdefghijklmnopqrst", new Date("2026-11-29T06:00:00.123Z"))).toEqual({
      dir: "exports/abcdefghijklmnopqrst/2026-11-29T06-00-00Z/",
      dumpKey: "exports/abcdefghijklmnopqrst/2026-11-29T06-00-00Z/db.dump",
      manifestKey: "exports/abcdefghijklmnopqrst/2026-11-29T06-00-00Z/manifest.json",
    });
  });

  it("accepts the config's prefix shape and nothing else", () => {
    expect(checkPrefix("exports/", "--prefix")).toBe("exports/");
    expect(checkPrefix("", "--prefix")).toBe("");
    for (const bad of ["exports", "/exports/", "Exports/", "a//b/", "../"]) expect(() => checkPrefix(bad, "--prefix")).toThrow(/--prefix/);
  });

  it("parses s3:// URIs and refuses anything else with exit code 2", () => {
    expect(parseS3Uri("s3://livestreamsell-dr/exports/x/manifest.json")).toEqual({ bucket: "livestreamsell-dr", key: "exports/x/manifest.json" });
    expect(() => parseS3Uri("s3://Bad_Bucket/key")).toThrow(/invalid bucket/);
    expect(() => parseS3Uri("s3://bucket-only")).toThrow(/not an s3:\/\/ URI/);
  });
});

describe("database connections", () => {
  it("names a broken %-escape in the URL instead of crashing", () => {
    expect(() => connectionFromUrl("postgresql://postgres:ab%zz9@db.example.com:5432/postgres", "--target")).toThrow(
      "--target has an invalid %-escape in its password; write a literal % as %25",
    );
    expect(connectionFromUrl("postgresql://postgres:ab%2529@db.example.com:5432/postgres").toolConnection().env.PGPASSWORD).toBe("ab%29");
  });

  it("keeps the password out of pg tool arguments and gives libpq sslmode semantics to node-pg", () => {
    const c = connectionFromUrl("postgresql://postgres:p%40ss@db.abcdefghijklmnopqrst.supabase.co:5432/postgres?sslmode=require", "--target", {});
    const tool = c.toolConnection();
    expect(tool.args.join(" ")).not.toContain("p@ss");
    expect(tool.args).toEqual(["--dbname=host='db.abcdefghijklmnopqrst.supabase.co' port='5432' user='postgres' dbname='postgres' sslmode='require'"]);
    expect(tool.env.PGPASSWORD).toBe("p@ss");
    expect(c.clientConfig()).toMatchObject({ host: "db.abcdefghijklmnopqrst.supabase.co", port: 5432, user: "postgres", database: "postgres", password: "p@ss", ssl: { rejectUnauthorized: false } });
    expect(c.label).toBe("db.abcdefghijklmnopqrst.supabase.co:5432/postgres");
    expect(c.withDatabase("drp_verify_x").toolConnection().args[0]).toBe(
      "--dbname=host='db.abcdefghijklmnopqrst.supabase.co' port='5432' user='postgres' dbname='drp_verify_x' sslmode='require'",
    );
  });

  it("uses the PG* variables when DATABASE_URL is absent, and asks for one of them otherwise", () => {
    const c = connectionFromEnv({ PGHOST: "db.internal", PGDATABASE: "shop", PGSSLMODE: "require" });
    expect(c.label).toBe("db.internal:5432/shop");
    expect(c.clientConfig().ssl).toEqual({ rejectUnauthorized: false });
    expect(c.toolConnection().args).toEqual(["--dbname=host='db.internal' port='5432' user='postgres' dbname='shop' sslmode='require'"]);
    expect(() => connectionFromEnv({ PGHOST: "h", PGSERVICE: "prod" })).toThrow(/^PGSERVICE is not supported by drp; set DATABASE_URL/);
    expect(() => connectionFromPgEnv({ PGHOST: "h", PGSSLMODE: "sometimes" })).toThrow(/PGSSLMODE="sometimes"/);
    expect(() => connectionFromEnv({})).toThrow(/set DATABASE_URL/);
    expect(() => connectionFromUrl("mysql://x@y/z")).toThrow(/must start with postgresql:\/\//);
  });
});

describe("database URLs: one parse for node-pg and the pg tools", () => {
  const toolArgs = (url: string) => connectionFromUrl(url, "--target", {}).toolConnection().args[0];

  it.each([
    ["dbname", "the URL's path"],
    ["host", "the host in the URL"],
    ["hostaddr", "the address in the URL's host"],
    ["port", "the port in the URL"],
    ["user", "the user in the URL"],
    ["service", "into the URL"],
    ["passfile", "PGPASSFILE"],
    ["replication", "ordinary session"],
  ])("refuses %s in the query with exit 2, naming where it belongs", (key, fix) => {
    const e = (() => {
      try {
        connectionFromUrl(`postgresql://postgres@db.example.com:5432/shop?sslmode=disable&${key}=other`, "--target", {});
      } catch (err) {
        return err as DrpError;
      }
      throw new Error("expected a refusal");
    })();
    expect(e).toBeInstanceOf(DrpError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(new RegExp(`^--target: ${key} is not accepted in the query string .*${fix.replace(/[.*'()]/g, "\\$&")}`));
    expect(e.message).not.toContain("\n");
  });

  it("refuses unknown query parameters as libpq does, and a parameter without a value", () => {
    expect(() => connectionFromUrl("postgresql://h/db?connect_timout=5", "DATABASE_URL", {})).toThrow(
      'DATABASE_URL has an unknown query parameter "connect_timout" (libpq refuses it too); remove it or use a libpq connection keyword',
    );
    expect(() => connectionFromUrl("postgresql://h/db?sslmode", "DATABASE_URL", {})).toThrow(/query parameter without a value \("sslmode"\)/);
    expect(() => connectionFromUrl("postgresql://h/db?sslmode=sometimes", "DATABASE_URL", {})).toThrow(/sslmode="sometimes" is not a libpq sslmode/);
  });

  it("keeps query values as libpq reads them: %20 is a space and + stays +", () => {
    expect(toolArgs("postgresql://u@h/db?application_name=live%20sell+ops&options=-c%20search_path%3Dshop")).toBe(
      "--dbname=host='h' port='5432' user='u' dbname='db' application_name='live sell+ops'",
    );
    const c = connectionFromUrl("postgresql://u@h/db?options=-c%20search_path%3Dshop", "--target", {});
    expect(c.toolConnection().env.PGOPTIONS).toBe("-c search_path=shop");
    expect(c.clientConfig().options).toBe("-c search_path=shop");
  });

  it("quotes every part for libpq and takes ?password= only through the environment", () => {
    const c = connectionFromUrl("postgresql://o%27brien@h/my%20db%5C1?password=top%20secret&ssl=true", "--target", {});
    expect(c.toolConnection().args).toEqual(["--dbname=host='h' port='5432' user='o\\'brien' dbname='my db\\\\1' sslmode='require'"]);
    expect(c.toolConnection().env.PGPASSWORD).toBe("top secret");
    expect(c.clientConfig()).toMatchObject({ user: "o'brien", database: "my db\\1", password: "top secret" });
    expect(JSON.stringify(c.toolConnection().args)).not.toContain("secret");
  });

  it("points the pg tools nowhere but the parsed target: the PG* variables that choose a server are replaced", () => {
    const c = connectionFromUrl("postgresql://u@h:6543/db", "--target", { PGDATABASE: "prod", PGHOST: "elsewhere" });
    const env = toolEnv(c.toolConnection(), { PGDATABASE: "prod", PGHOST: "elsewhere", PGSERVICE: "prod", PATH: "/bin" });
    expect(env).toEqual({ PATH: "/bin" });
    expect(c.clientConfig()).toMatchObject({ host: "h", port: 6543, database: "db" });
  });

  it("fills what the URL leaves out the way libpq does, once, for both sides", () => {
    const c = connectionFromUrl("postgresql://h", "--target", { PGUSER: "ops", PGDATABASE: "shop", PGPORT: "6000" });
    expect(c.label).toBe("h:6000/shop");
    expect(c.clientConfig()).toMatchObject({ user: "ops", database: "shop", port: 6000 });
    expect(c.toolConnection().args).toEqual(["--dbname=host='h' port='6000' user='ops' dbname='shop'"]);
  });

  it("adds drp's session settings to the URL's own options on both sides", () => {
    const c = connectionFromUrl("postgresql://u@h/db?options=-c%20work_mem%3D64MB", "--target", {}).withSessionSettings({ lock_timeout: "30000", statement_timeout: "0" });
    expect(c.clientConfig().options).toBe("-c work_mem=64MB -c lock_timeout=30000 -c statement_timeout=0");
    expect(c.toolConnection().env.PGOPTIONS).toBe("-c work_mem=64MB -c lock_timeout=30000 -c statement_timeout=0");
  });

  it("accepts every libpq keyword it passes on, as the installed libpq does", () => {
    // The oracle: psql's own URI parser (libpq), which stops before connecting on an unknown parameter.
    const newer = new Set(["require_auth", "sslcertmode", "load_balance_hosts", "sslnegotiation", "gssdelegation"]);
    for (const key of LIBPQ_KEYWORDS.filter((k) => !newer.has(k))) {
      const r = spawnSync(pgToolPath("psql"), ["-X", "-c", "select 1", `postgresql://127.0.0.1:1/db?${key}=x`], { encoding: "utf8", timeout: 10_000 });
      expect({ key, stderr: r.stderr }).not.toEqual({ key, stderr: expect.stringContaining("invalid URI query parameter") });
    }
    const unknown = spawnSync(pgToolPath("psql"), ["-X", "-c", "select 1", "postgresql://127.0.0.1:1/db?connect_timout=5"], { encoding: "utf8" });
    expect(unknown.stderr).toContain('invalid URI query parameter: "connect_timout"');
  });
});

describe("restore timeouts", () => {
  it("defaults to a 30 s lock wait and a 6 h statement, overridden by env, then by flags", () => {
    expect(restoreTimeouts({}, {})).toEqual({ lockTimeoutMs: 30_000, statementTimeoutMs: 6 * 3_600_000 });
    expect(restoreTimeouts({}, { DRP_LOCK_TIMEOUT: "5min", DRP_STATEMENT_TIMEOUT: "0" })).toEqual({ lockTimeoutMs: 300_000, statementTimeoutMs: 0 });
    expect(restoreTimeouts({ lockTimeout: "500ms" }, { DRP_LOCK_TIMEOUT: "5min" }).lockTimeoutMs).toBe(500);
  });

  it.each([
    [{ lockTimeout: "30" }, {}, /^--lock-timeout must be a duration such as 500ms, 30s, 5min or 6h .* \(got "30"\)$/],
    [{}, { DRP_STATEMENT_TIMEOUT: "1d" }, /^DRP_STATEMENT_TIMEOUT must be a duration/],
    [{ statementTimeout: "600h" }, {}, /^--statement-timeout must be a duration .*at most 596h/],
    [{ lockTimeout: "-1s" }, {}, /^--lock-timeout must be a duration/],
  ])("refuses %j %j with exit 2", (flags, env, message) => {
    expect(() => restoreTimeouts(flags, env)).toThrow(message);
    expect(() => restoreTimeouts(flags, env)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe("blocking sessions in a lock-timeout failure", () => {
  const session = (pid: number) => ({ pid, user: "app", application: "api", client: "10.0.0.5", state: "idle in transaction", since: "2026-11-29T06:01:12Z" });

  it("names up to five sessions, counts the rest, and gives the statement that ends them all", () => {
    const line = describeBlockers([1, 2, 3, 4, 5, 6, 7].map(session));
    expect(line).toMatch(/^held by pid 1 \(user app, application "api", client 10\.0\.0\.5, idle in transaction since 2026-11-29T06:01:12Z\); pid 2 /);
    expect(line).toContain("pid 5 (");
    expect(line).not.toContain("pid 6 (");
    expect(line).toContain("and 2 more; end them with SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (1, 2, 3, 4, 5, 6, 7)");
  });

  it("says what it could not see instead of guessing", () => {
    expect(describeBlockers([{ pid: 9, user: null, application: "", client: null, state: null, since: null }])).toBe(
      'held by pid 9 (user ?, application "", client not visible, state not visible (needs pg_read_all_stats)); end it with SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (9) (or stop that client), then run again',
    );
    expect(describeBlockers([])).toMatch(/^the blocking session had already gone/);
  });
});

describe("pg_restore flags", () => {
  it("restores in one transaction unless parallel jobs are asked for", () => {
    expect(pgRestoreArgs({ jobs: 1, force: false, noOwner: false }, "f")).toEqual(["--exit-on-error", "--no-password", "--single-transaction", "f"]);
    expect(pgRestoreArgs({ jobs: 4, force: true, noOwner: true }, "f")).toEqual([
      "--exit-on-error",
      "--no-password",
      "--jobs=4",
      "--clean",
      "--if-exists",
      "--no-owner",
      "--no-privileges",
      "f",
    ]);
  });

  it("reports a pg tool's error line with the server's detail", () => {
    const stderr = [
      'pg_dump: error: Dumping the contents of table "orders" failed: PQgetCopyData() failed.',
      "pg_dump: detail: Error message from server: server closed the connection unexpectedly",
      "pg_dump: detail: Command was: COPY public.orders TO stdout;",
    ].join("\n");
    expect(summarizeToolError("pg_dump", stderr)).toBe(
      'Dumping the contents of table "orders" failed: PQgetCopyData() failed. (Error message from server: server closed the connection unexpectedly)',
    );
  });
});

describe("a pg tool's stdout buffer (stdbuf)", () => {
  /** The environment of a running process once it runs `program` (stdbuf sets its variables, then execs). */
  async function environOnceRunning(pid: number, program: string): Promise<string[]> {
    const until = Date.now() + 5_000;
    while (!readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(program)) {
      if (Date.now() > until) throw new Error(`process ${pid} never ran ${program}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  }

  it("runs the tool through stdbuf with the buffer asked for", async () => {
    const tool = spawnPgTool("pg_restore", ["--list"], { stdin: "pipe", stdout: "pipe", stdoutBuffer: 1024 * 1024 });
    try {
      const environ = await environOnceRunning(tool.child.pid!, pgToolPath("pg_restore"));
      expect(environ).toContain("_STDBUF_O=1048576");
    } finally {
      tool.kill();
      await tool.done.catch(() => undefined);
    }
  });

  it("runs the tool itself without a buffer, or where stdbuf is not installed", () => {
    expect(toolCommand("/pg/bin/pg_dump", ["--format=custom"])).toEqual(["/pg/bin/pg_dump", ["--format=custom"]]);
    expect(toolCommand("/pg/bin/pg_dump", ["--format=custom"], 65536)).toEqual([stdbufPath(), ["-o", "65536", "/pg/bin/pg_dump", "--format=custom"]]);
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), "drp-empty-path-"));
    try {
      expect(stdbufPath()).toBeUndefined();
      expect(toolCommand("/pg/bin/pg_dump", ["--format=custom"], 65536)).toEqual(["/pg/bin/pg_dump", ["--format=custom"]]);
    } finally {
      rmSync(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = path;
    }
  });
});
