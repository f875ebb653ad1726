/** Input handling of the data commands that needs no server: names, prefixes, keys, connections, tool errors. */
import { summarizeToolError } from "../../scripts/lib/pg-tools";
import { parseS3Uri } from "../../scripts/lib/s3";
import { connectionFromEnv, connectionFromPgEnv, connectionFromUrl } from "../../scripts/data/connection";
import { checkPrefix, exportKeys, parseTableList } from "../../scripts/data/manifest";
import { pgRestoreArgs } from "../../scripts/data/restore";
import { countSql } from "../../scripts/data/tables";

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
    const c = connectionFromUrl("postgresql://postgres:p%40ss@db.abcdefghijklmnopqrst.supabase.co:5432/postgres?sslmode=require");
    const tool = c.toolConnection();
    expect(tool.args.join(" ")).not.toContain("p%40ss");
    expect(tool.args).toEqual(["--dbname=postgresql://postgres@db.abcdefghijklmnopqrst.supabase.co:5432/postgres?sslmode=require"]);
    expect(tool.env).toEqual({ PGPASSWORD: "p@ss" });
    expect(c.clientConfig().connectionString).toContain("uselibpqcompat=true");
    expect(c.label).toBe("db.abcdefghijklmnopqrst.supabase.co:5432/postgres");
    expect(c.withDatabase("drp_verify_x").toolConnection().args[0]).toContain(":5432/drp_verify_x?sslmode=require");
  });

  it("uses the PG* variables when DATABASE_URL is absent, and asks for one of them otherwise", () => {
    const c = connectionFromEnv({ PGHOST: "db.internal", PGDATABASE: "shop", PGSSLMODE: "require" });
    expect(c.label).toBe("db.internal:5432/shop");
    expect(c.clientConfig().ssl).toEqual({ rejectUnauthorized: false });
    expect(() => connectionFromPgEnv({ PGHOST: "h", PGSSLMODE: "sometimes" })).toThrow(/PGSSLMODE="sometimes"/);
    expect(() => connectionFromEnv({})).toThrow(/set DATABASE_URL/);
    expect(() => connectionFromUrl("mysql://x@y/z")).toThrow(/must start with postgresql:\/\//);
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
