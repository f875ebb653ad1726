/**
 * Critical tables: resolution to schema-qualified names and exact row counts. Names only reach SQL as
 * bound parameters or through escapeIdentifier, whether they come from config, flags or a manifest.
 */
import { escapeIdentifier, type Client } from "pg";
import { DrpError } from "../lib/cli";
import { connect, describePgError, type DbConnection } from "./connection";
import { QUALIFIED_TABLE, splitTable } from "./manifest";

/**
 * Resolves `orders` through the search_path and `shop.orders` exactly (names are case-sensitive, as if
 * quoted). Fails naming every table that does not exist.
 */
export async function resolveTables(client: Client, names: readonly string[]): Promise<string[]> {
  const resolved: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const quoted = name.split(".").map(escapeIdentifier).join(".");
    const { rows } = await client.query<{ schema: string | null; table: string | null }>(
      `SELECT n.nspname AS schema, c.relname AS table
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind IN ('r', 'p')`,
      [quoted],
    );
    const row = rows[0];
    if (!row?.schema || !row.table) missing.push(name);
    else resolved.push(`${row.schema}.${row.table}`);
  }
  if (missing.length)
    throw new DrpError(
      `critical table${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found in the database; fix --critical-tables, DRP_CRITICAL_TABLES or export.criticalTables`,
      1,
    );
  for (const t of resolved)
    if (!QUALIFIED_TABLE.test(t)) throw new DrpError(`critical table ${t} has a name drp cannot record; rename it or leave it out`, 1);
  return [...new Set(resolved)];
}

export function countSql(qualified: string): string {
  const { schema, table } = splitTable(qualified);
  return `SELECT count(*) AS n FROM ${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
}

/** Exact counts (count(*)), in the client's current transaction. */
export async function countRows(client: Client, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    if (!QUALIFIED_TABLE.test(t)) throw new DrpError(`invalid table name ${JSON.stringify(t)}`, 1);
    const { rows } = await client.query<{ n: string }>(countSql(t));
    const n = Number(rows[0].n);
    if (!Number.isSafeInteger(n)) throw new DrpError(`row count of ${t} (${rows[0].n}) is beyond exact JSON numbers`, 1);
    counts[t] = n;
  }
  return counts;
}

/** "" when equal, else one line listing each difference. */
export function compareCounts(expected: Record<string, number>, actual: Record<string, number | null>): string {
  const diffs = Object.entries(expected)
    .filter(([t, n]) => actual[t] !== n)
    .map(([t, n]) => `${t} expected ${n}, found ${actual[t] === null || actual[t] === undefined ? "no table" : actual[t]}`);
  return diffs.join("; ");
}

/** Counts each table that exists; a missing table counts as null. */
export async function countExisting(client: Client, tables: readonly string[]): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const t of tables) {
    const { schema, table } = splitTable(t);
    const { rows } = await client.query(
      `SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [schema, table],
    );
    out[t] = rows.length ? (await countRows(client, [t]))[t] : null;
  }
  return out;
}

/**
 * Counts each table (null when missing) on up to `parallel` connections at once: after a restore the
 * first scans also set hint bits, so big tables are worth spreading over the server's cores.
 */
export async function countTablesIn(
  db: DbConnection,
  tables: readonly string[],
  action: string,
  parallel = 4,
  applicationName?: string,
): Promise<Record<string, number | null>> {
  const queue = [...tables];
  const out: Record<string, number | null> = {};
  const worker = async () => {
    const client = await connect(db, action, applicationName);
    try {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) Object.assign(out, await countExisting(client, [t]));
    } catch (e) {
      throw e instanceof DrpError ? e : new DrpError(describePgError(e, db, action), 1);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, tables.length)) }, worker));
  return Object.fromEntries(tables.map((t) => [t, out[t]]));
}

/** Tables outside the system schemas: a target with any is not empty. */
export async function userTables(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
      ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}
