/**
 * A database to dump from or restore into, from a postgres:// URL (DATABASE_URL, --target, --scratch-url)
 * or the libpq PG* variables. It is parsed once, here, into explicit parts, and both sides get those same
 * parts: node-pg (counts, checks) as explicit fields, the pg tools as a libpq keyword/value string built
 * from them. Neither side re-reads the URL or falls back to its own defaults, so both reach the same
 * database. Passwords reach the pg tools through PGPASSWORD, never argv.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { Client, type ClientConfig } from "pg";
import { DrpError } from "../lib/cli";
import { runPgTool, type PgToolConnection } from "../lib/pg-tools";

export interface DbConnection {
  /** host:port/database, safe to print. */
  readonly label: string;
  readonly database: string;
  /** Names the export's key: the Supabase project ref when recognisable, else the database name. */
  readonly exportName: string;
  /** The application_name the pg tools' sessions carry (the URL's, else the tool's own name). */
  toolApplicationName(tool: string): string;
  clientConfig(): ClientConfig;
  toolConnection(): PgToolConnection;
  /** The same server, another database. */
  withDatabase(database: string): DbConnection;
  /** The same database, with these server settings on every session (node-pg and pg tools alike). */
  withSessionSettings(settings: Readonly<Record<string, string>>): DbConnection;
}

const SSL_LIBPQ: Record<string, ClientConfig["ssl"]> = {
  disable: false,
  allow: false,
  prefer: { rejectUnauthorized: false },
  require: { rejectUnauthorized: false },
  "verify-ca": { checkServerIdentity: () => undefined },
  "verify-full": true,
};

const URL_FORM = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE";

/**
 * libpq's connection keywords (PostgreSQL 15, plus those added up to 17). libpq refuses any other URI
 * query parameter ("invalid URI query parameter"), and so does drp.
 */
export const LIBPQ_KEYWORDS = [
  "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service", "replication",
  "channel_binding", "connect_timeout", "client_encoding", "options", "application_name", "fallback_application_name",
  "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
  "sslmode", "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
  "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname", "gsslib",
  "target_session_attrs",
  // PostgreSQL 16 and 17: the pg tools' libpq must be that new to accept them.
  "require_auth", "sslcertmode", "load_balance_hosts", "sslnegotiation", "gssdelegation",
] as const;

/** Keywords that choose which server, database or role is reached: they belong in the URL itself. */
const REFUSED_IN_QUERY: Readonly<Record<string, string>> = {
  host: `put the host in the URL: ${URL_FORM}`,
  hostaddr: `put the address in the URL's host: ${URL_FORM}`,
  port: `put the port in the URL: ${URL_FORM}`,
  dbname: `put the database in the URL's path: ${URL_FORM}`,
  user: `put the user in the URL: ${URL_FORM}`,
  service: `write the service's host, port, user and database into the URL: ${URL_FORM}`,
  passfile: `put the password in the URL, or set PGPASSFILE`,
  replication: "drp needs an ordinary session; remove it",
};

/** libpq environment variables that choose the server, database or role: the parsed parts replace them. */
const TARGET_ENV = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE", "PGOPTIONS", "PGSSLMODE", "PGAPPNAME"];

interface ConnParts {
  readonly host: string;
  readonly port: string;
  readonly user: string;
  readonly database: string;
  readonly password?: string;
  readonly sslmode?: string;
  /** libpq `options` (-c settings), the URL's or PGOPTIONS, plus drp's session settings. */
  readonly options: string;
  /** Other libpq keywords from the URL's query, passed to the pg tools as given. */
  readonly params: ReadonlyMap<string, string>;
  /** Where the parts came from, for error messages. */
  readonly what: string;
}

function exportNameFor(host: string, user: string, database: string): string {
  const ref = /^db\.([a-z0-9]{20})\.supabase\.co$/.exec(host)?.[1] ?? /^postgres\.([a-z0-9]{20})$/.exec(user)?.[1];
  const name = (ref ?? database)
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name || "postgres";
}

/** A value in a libpq keyword/value string: single-quoted, with \ and ' escaped. */
export function conninfoValue(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** One `-c name=value` for libpq `options`/PGOPTIONS: spaces and backslashes in the value are escaped. */
function optionSetting(name: string, value: string): string {
  return `-c ${name}=${value.replace(/[\\ ]/g, (c) => `\\${c}`)}`;
}

function checkSslmode(sslmode: string | undefined, source: string): string | undefined {
  if (sslmode !== undefined && !(sslmode in SSL_LIBPQ))
    throw new DrpError(`${source}="${sslmode}" is not a libpq sslmode; use disable, prefer, require, verify-ca or verify-full`, 2);
  return sslmode;
}

function readCertFile(path: string, keyword: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new DrpError(`${what}: cannot read ${keyword} ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix the path`, 2);
  }
}

function nodeSsl(parts: ConnParts): ClientConfig["ssl"] | undefined {
  if (parts.sslmode === undefined || SSL_LIBPQ[parts.sslmode] === false) return parts.sslmode === undefined ? undefined : false;
  const base = SSL_LIBPQ[parts.sslmode];
  const files: Record<string, string> = {};
  for (const [keyword, field] of [["sslrootcert", "ca"], ["sslcert", "cert"], ["sslkey", "key"]] as const) {
    const path = parts.params.get(keyword);
    if (path !== undefined) files[field] = readCertFile(path, keyword, parts.what);
  }
  if (Object.keys(files).length === 0) return base;
  return { ...(base === true ? {} : (base as object)), ...files };
}

function makeConnection(parts: ConnParts): DbConnection {
  const { host, port, user, database } = parts;
  return {
    label: `${host}:${port}/${database}`,
    database,
    exportName: exportNameFor(host, user, database),
    toolApplicationName: (tool) => parts.params.get("application_name") ?? tool,
    clientConfig() {
      const timeout = parts.params.get("connect_timeout");
      const ssl = nodeSsl(parts);
      return {
        host,
        port: Number(port),
        user,
        database,
        ...(parts.password !== undefined ? { password: parts.password } : {}),
        ...(ssl !== undefined ? { ssl } : {}),
        ...(parts.options ? { options: parts.options } : {}),
        ...(timeout && Number(timeout) > 0 ? { connectionTimeoutMillis: Number(timeout) * 1000 } : {}),
      };
    },
    toolConnection() {
      const conninfo = [
        `host=${conninfoValue(host)}`,
        `port=${conninfoValue(port)}`,
        `user=${conninfoValue(user)}`,
        `dbname=${conninfoValue(database)}`,
        ...(parts.sslmode !== undefined ? [`sslmode=${conninfoValue(parts.sslmode)}`] : []),
        ...[...parts.params].map(([k, v]) => `${k}=${conninfoValue(v)}`),
      ].join(" ");
      // The variables that could point libpq elsewhere are replaced by the parsed parts (undefined removes).
      const env: Record<string, string | undefined> = Object.fromEntries(TARGET_ENV.map((k) => [k, undefined]));
      if (parts.password !== undefined) env.PGPASSWORD = parts.password;
      if (parts.options) env.PGOPTIONS = parts.options;
      return { args: [`--dbname=${conninfo}`], env };
    },
    withDatabase: (db) => makeConnection({ ...parts, database: db }),
    withSessionSettings(settings) {
      const extra = Object.entries(settings).map(([k, v]) => optionSetting(k, v));
      return makeConnection({ ...parts, options: [parts.options, ...extra].filter(Boolean).join(" ") });
    },
  };
}

/** `%XX` decoding as libpq does it: `+` stays `+`. */
function decodeComponent(part: string, name: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DrpError(`${what} has an invalid %-escape in its ${name}; write a literal % as %25`, 2);
  }
}

/** The URL's query as libpq reads it: every key a libpq keyword, later values win, `ssl=true` means sslmode=require. */
function parseQuery(search: string, what: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!search) return params;
  for (const pair of search.split("&")) {
    const eq = pair.indexOf("=");
    if (eq < 0) throw new DrpError(`${what} has a query parameter without a value ("${pair}"); write it as name=value`, 2);
    const key = decodeComponent(pair.slice(0, eq), "query", what);
    const value = decodeComponent(pair.slice(eq + 1), "query", what);
    if (key === "ssl" && value === "true") params.set("sslmode", "require");
    // node-pg's switch for libpq's sslmode meaning, which drp always applies: accepted, not passed on.
    else if (key === "uselibpqcompat") continue;
    else if (!(LIBPQ_KEYWORDS as readonly string[]).includes(key))
      throw new DrpError(`${what} has an unknown query parameter "${key}" (libpq refuses it too); remove it or use a libpq connection keyword`, 2);
    else if (key in REFUSED_IN_QUERY)
      throw new DrpError(`${what}: ${key} is not accepted in the query string (it would choose the target outside the URL itself); ${REFUSED_IN_QUERY[key]}`, 2);
    else params.set(key, value);
  }
  return params;
}

export function connectionFromUrl(raw: string, what = "DATABASE_URL", env: NodeJS.ProcessEnv = process.env): DbConnection {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DrpError(`${what} is not a valid URL; use ${URL_FORM}`, 2);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    throw new DrpError(`${what} must start with postgresql:// (got ${url.protocol}//)`, 2);
  if (!url.hostname) throw new DrpError(`${what} has no host; use ${URL_FORM}`, 2);
  if (url.hostname.includes(",")) throw new DrpError(`${what} names several hosts; give the one host to use: ${URL_FORM}`, 2);
  const params = parseQuery(url.search.replace(/^\?/, ""), what);
  const user = decodeComponent(url.username, "user", what) || env.PGUSER || userInfo().username;
  const queryPassword = params.get("password");
  params.delete("password");
  const password = queryPassword ?? (decodeComponent(url.password, "password", what) || env.PGPASSWORD || undefined);
  const sslmode = checkSslmode(params.get("sslmode") ?? env.PGSSLMODE, params.has("sslmode") ? `${what} sslmode` : "PGSSLMODE");
  params.delete("sslmode");
  const options = params.get("options") ?? env.PGOPTIONS ?? "";
  params.delete("options");
  return makeConnection({
    host: decodeComponent(url.hostname.replace(/^\[|\]$/g, ""), "host", what),
    port: url.port || env.PGPORT || "5432",
    user,
    database: decodeComponent(url.pathname.replace(/^\//, ""), "database name", what) || env.PGDATABASE || user,
    password,
    sslmode,
    options,
    params,
    what,
  });
}

/** From the PG* variables, resolved once here with the same defaults for node-pg and the pg tools. */
export function connectionFromPgEnv(env: NodeJS.ProcessEnv = process.env, databaseOverride?: string): DbConnection {
  for (const name of ["PGSERVICE", "PGHOSTADDR"])
    if (env[name]) throw new DrpError(`${name} is not supported by drp; set DATABASE_URL (${URL_FORM}) or PGHOST, PGPORT, PGUSER, PGDATABASE instead`, 2);
  const user = env.PGUSER || "postgres";
  return makeConnection({
    host: env.PGHOST || "localhost",
    port: env.PGPORT || "5432",
    user,
    database: databaseOverride ?? (env.PGDATABASE || user),
    password: env.PGPASSWORD || undefined,
    sslmode: checkSslmode(env.PGSSLMODE, "PGSSLMODE"),
    options: env.PGOPTIONS ?? "",
    params: new Map(),
    what: "the PG* variables",
  });
}

/** DATABASE_URL if set, else the PG* variables; one of them is required. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): DbConnection {
  if (env.DATABASE_URL) return connectionFromUrl(env.DATABASE_URL, "DATABASE_URL", env);
  if (env.PGHOST || env.PGDATABASE) return connectionFromPgEnv(env);
  throw new DrpError(`no database configured: set DATABASE_URL (${URL_FORM}) or the PG* variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE)`, 2);
}

/** Which database a session is in: the cluster's system identifier (null without the right to read it) and the name. */
export interface DatabaseIdentity {
  readonly systemIdentifier: string | null;
  readonly database: string;
}

export const IDENTITY_SQL = `SELECT pg_catalog.current_database() AS database,
  CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
       THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END AS "systemIdentifier"`;

export async function databaseIdentity(client: Client): Promise<DatabaseIdentity> {
  return (await client.query<{ database: string; systemIdentifier: string | null }>(IDENTITY_SQL)).rows[0];
}

/**
 * Asks libpq itself (psql with the pg tools' connection) which database it reaches, and refuses to go on
 * unless it is `expected`, the one drp's own checks inspected: the last word on "the same database".
 */
export async function confirmToolTarget(db: DbConnection, expected: DatabaseIdentity, what: string): Promise<void> {
  let seen: DatabaseIdentity;
  try {
    const out = await runPgTool(
      "psql",
      ["--no-psqlrc", "--no-password", "--tuples-only", "--no-align", "--quiet", "-v", "ON_ERROR_STOP=1", "--command", `SELECT pg_catalog.row_to_json(i) FROM (${IDENTITY_SQL}) i`],
      db.toolConnection(),
    );
    seen = JSON.parse(out.trim()) as DatabaseIdentity;
  } catch (e) {
    throw new DrpError(`cannot confirm where the pg tools connect for ${what}: ${(e as Error).message}`, 1);
  }
  if (seen.database !== expected.database || seen.systemIdentifier !== expected.systemIdentifier)
    throw new DrpError(
      `the pg tools would reach database ${seen.database} (system identifier ${seen.systemIdentifier ?? "unknown"}), not ${expected.database} that drp checked on ${db.label}; check the PG* variables and ~/.pg_service.conf, nothing was written`,
      1,
    );
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
  const client = new Client({ connectionTimeoutMillis: 15_000, ...db.clientConfig(), application_name: applicationName });
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
