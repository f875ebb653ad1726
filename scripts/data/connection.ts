/**
 * A database to dump from or restore into, from a postgres:// URL (DATABASE_URL, --target, --scratch-url)
 * or the libpq PG* variables. The same connection feeds node-pg (counts, checks) and the pg tools, with
 * libpq's sslmode semantics on both sides and the password kept out of argv.
 */
import { Client, type ClientConfig } from "pg";
import { DrpError } from "../lib/cli";
import type { PgToolConnection } from "../lib/pg-tools";

export interface DbConnection {
  /** host:port/database, safe to print. */
  readonly label: string;
  readonly database: string;
  /** Names the export's key: the Supabase project ref when recognisable, else the database name. */
  readonly exportName: string;
  clientConfig(): ClientConfig;
  toolConnection(): PgToolConnection;
  /** The same server, another database. */
  withDatabase(database: string): DbConnection;
}

const SSL_LIBPQ: Record<string, ClientConfig["ssl"]> = {
  disable: false,
  allow: false,
  prefer: { rejectUnauthorized: false },
  require: { rejectUnauthorized: false },
  "verify-ca": { checkServerIdentity: () => undefined },
  "verify-full": true,
};

function exportNameFor(host: string, user: string, database: string): string {
  const ref = /^db\.([a-z0-9]{20})\.supabase\.co$/.exec(host)?.[1] ?? /^postgres\.([a-z0-9]{20})$/.exec(user)?.[1];
  const name = (ref ?? database)
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name || "postgres";
}

export function connectionFromUrl(raw: string, what = "DATABASE_URL"): DbConnection {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DrpError(`${what} is not a valid URL; use postgresql://USER:PASSWORD@HOST:PORT/DATABASE`, 2);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    throw new DrpError(`${what} must start with postgresql:// (got ${url.protocol}//)`, 2);
  if (!url.hostname) throw new DrpError(`${what} has no host; use postgresql://USER:PASSWORD@HOST:PORT/DATABASE`, 2);
  const decode = (part: string, name: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new DrpError(`${what} has an invalid %-escape in its ${name}; write a literal % as %25`, 2);
    }
  };
  const password = decode(url.password, "password");
  const user = decode(url.username, "user");
  const database = decode(url.pathname.replace(/^\//, ""), "database name") || user || "postgres";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port || "5432";

  const forTools = new URL(url.href);
  forTools.password = "";
  forTools.searchParams.delete("uselibpqcompat");
  const forNode = new URL(url.href);
  // node-pg would otherwise read sslmode=require as verify-full, unlike pg_dump (libpq).
  if (forNode.searchParams.has("sslmode") && !forNode.searchParams.has("uselibpqcompat")) forNode.searchParams.set("uselibpqcompat", "true");

  return {
    label: `${host}:${port}/${database}`,
    database,
    exportName: exportNameFor(host, user, database),
    clientConfig: () => ({ connectionString: forNode.href }),
    toolConnection: () => ({ args: [`--dbname=${forTools.href}`], env: password ? { PGPASSWORD: password } : ({} as Record<string, string>) }),
    withDatabase(db: string) {
      const next = new URL(url.href);
      next.pathname = `/${encodeURIComponent(db)}`;
      return connectionFromUrl(next.href, what);
    },
  };
}

/** From the PG* variables, which both node-pg and libpq read natively. */
export function connectionFromPgEnv(env: NodeJS.ProcessEnv = process.env, databaseOverride?: string): DbConnection {
  const host = env.PGHOST || "localhost";
  const port = env.PGPORT || "5432";
  const user = env.PGUSER || "postgres";
  const database = databaseOverride ?? (env.PGDATABASE || user);
  const sslmode = env.PGSSLMODE;
  if (sslmode !== undefined && !(sslmode in SSL_LIBPQ))
    throw new DrpError(`PGSSLMODE="${sslmode}" is not a libpq sslmode; use disable, prefer, require, verify-ca or verify-full`, 2);
  return {
    label: `${host}:${port}/${database}`,
    database,
    exportName: exportNameFor(host, user, database),
    clientConfig: () => ({ database, ...(sslmode !== undefined ? { ssl: SSL_LIBPQ[sslmode] } : {}) }),
    toolConnection: () => ({ args: databaseOverride ? [`--dbname=${databaseOverride}`] : [], env: {} }),
    withDatabase: (db: string) => connectionFromPgEnv(env, db),
  };
}

/** DATABASE_URL if set, else the PG* variables; one of them is required. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): DbConnection {
  if (env.DATABASE_URL) return connectionFromUrl(env.DATABASE_URL);
  if (env.PGHOST || env.PGDATABASE) return connectionFromPgEnv(env);
  throw new DrpError("no database configured: set DATABASE_URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE) or the PG* variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE)", 2);
}

interface PgError {
  code?: string;
  message?: string;
}

/** One line for a node-pg failure, naming the database. */
export function describePgError(e: unknown, db: DbConnection, action: string): string {
  const err = (e ?? {}) as PgError;
  const code = err.code ?? "";
  const msg = String(err.message ?? e).split("\n")[0];
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ETIMEDOUT"].includes(code))
    return `${action}: cannot reach PostgreSQL at ${db.label} (${code}); check the URL/PG* variables and that the server is up`;
  if (code === "ECONNRESET" || code === "57P01" || /Connection terminated/i.test(msg))
    return `${action}: connection to ${db.label} was lost (${msg})`;
  if (code === "28P01" || code === "28000") return `${action}: PostgreSQL at ${db.label} rejected the login (${msg})`;
  if (code === "3D000") return `${action}: database ${db.database} does not exist on ${db.label}`;
  return `${action}: ${msg}${code && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : ""}`;
}

/** Connects or fails with one line; errors after connecting are reported by the caller. */
export async function connect(db: DbConnection, action: string, applicationName = "drp"): Promise<Client> {
  const client = new Client({ ...db.clientConfig(), application_name: applicationName, connectionTimeoutMillis: 15_000 });
  // A dropped connection must surface through the pending query, not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new DrpError(describePgError(e, db, action), 1);
  }
  return client;
}
