/**
 * Critical tables: resolution to schema-qualified names and exact row counts. Names only reach SQL as
 * bound parameters or through escapeIdentifier, whether they come from config, flags or a manifest.
 */
import { escapeIdentifier, type Client } from "pg";
import { DrpError } from "../lib/cli";
import { connect, describePgError, type DbConnection } from "./connection";
import { QUALIFIED_TABLE, splitTable, type CriticalCounts } from "./manifest";

/** A critical table as pg_dump dumps it: a table with data, or a partitioned table and its leaf partitions. */
export interface CriticalTable {
  readonly name: string;
  /** Leaf partitions (schema-qualified) of a partitioned table, whose data pg_dump writes instead; null for a plain table. */
  readonly leaves: readonly string[] | null;
}

interface RelationRow {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
  readonly kind: string;
  readonly persistence: string;
  readonly extension: string | null;
  /** The extension's pg_dump filter for a configuration table ("" for all rows); null when not one. */
  readonly extensionFilter: string | null;
}

const RELATION_SQL = `
  SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence::text AS persistence,
         e.extname AS extension,
         (SELECT x.cond FROM unnest(e.extconfig, e.extcondition) AS x(cfg, cond) WHERE x.cfg = c.oid) AS "extensionFilter"
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
         AND d.deptype = 'e' AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid`;

const KIND_REASONS: Readonly<Record<string, string>> = {
  v: "is a view: pg_dump writes its definition, not rows",
  m: "is a materialized view: pg_dump writes a REFRESH, not its rows",
  f: "is a foreign table: its rows live on the foreign server and pg_dump writes none",
  S: "is a sequence: pg_dump writes its value, not rows",
  i: "is an index, not a table",
  I: "is an index, not a table",
  c: "is a composite type, not a table",
  t: "is a TOAST table, which pg_dump does not dump",
};

/**
 * Why pg_dump writes no TABLE DATA for this relation (mirroring pg_dump's own choices: system schemas,
 * relation kinds, temporary tables, extension members), or null when it does. Partitioned tables are
 * handled by the caller through their leaves.
 */
function whyNotDumped(r: RelationRow): string | null {
  // pg_dump skips every schema named pg_* (pg_catalog, pg_toast, pg_temp_N) and information_schema.
  if (r.schema.startsWith("pg_") || r.schema === "information_schema") return `is in the system schema ${r.schema}, which pg_dump does not dump`;
  if (r.kind !== "r" && r.kind !== "p") return KIND_REASONS[r.kind] ?? `is a relation of kind '${r.kind}', for which pg_dump writes no data`;
  if (r.persistence === "t") return "is a temporary table, which pg_dump does not dump";
  if (r.extension !== null && r.extensionFilter === null) return `belongs to the extension ${r.extension}, which recreates it: pg_dump writes no data for it`;
  if (r.extension !== null && r.extensionFilter !== "")
    return `is a configuration table of the extension ${r.extension}, which dumps only the rows ${r.extensionFilter}: its count cannot be checked`;
  return null;
}

const REFUSED_HINT = "leave it out of --critical-tables, DRP_CRITICAL_TABLES or export.criticalTables";

/**
 * Resolves \`orders\` through the search_path and \`shop.orders\` exactly (names are case-sensitive, as if
 * quoted) to what pg_dump dumps: a partitioned table to its leaf partitions. Fails naming every table
 * that does not exist (exit 1), and refuses (exit 2) any relation pg_dump writes no data for, so an
 * export never records a count that restore cannot check.
 */
export async function resolveTables(client: Client, names: readonly string[]): Promise<CriticalTable[]> {
  const found: RelationRow[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const quoted = name.split(".").map(escapeIdentifier).join(".");
    const { rows } = await client.query<RelationRow>(`${RELATION_SQL} WHERE c.oid = pg_catalog.to_regclass($1)`, [quoted]);
    if (rows[0]) found.push(rows[0]);
    else missing.push(name);
  }
  if (missing.length)
    throw new DrpError(
      `critical table${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found in the database; fix --critical-tables, DRP_CRITICAL_TABLES or export.criticalTables`,
      1,
    );

  const refused: string[] = [];
  const resolved = new Map<string, CriticalTable>();
  for (const r of found) {
    const name = `${r.schema}.${r.name}`;
    const why = whyNotDumped(r);
    if (why) {
      refused.push(`critical table ${name} ${why}`);
      continue;
    }
    let leaves: string[] | null = null;
    if (r.kind === "p") {
      // pg_inherits is read by SQL, so in the export's snapshot as pg_dump reads it (pg_partition_tree
      // would also see partitions attached since). Leaves are the descendants that are not partitioned.
      const { rows } = await client.query<RelationRow>(
        `WITH RECURSIVE tree(relid) AS (
           SELECT inhrelid FROM pg_catalog.pg_inherits WHERE inhparent = $1::pg_catalog.oid
           UNION ALL SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN tree t ON i.inhparent = t.relid)
         ${RELATION_SQL} WHERE c.oid IN (SELECT relid FROM tree) AND c.relkind <> 'p' ORDER BY 2, 3`,
        [r.oid],
      );
      leaves = [];
      for (const leaf of rows) {
        const leafName = `${leaf.schema}.${leaf.name}`;
        const leafWhy = whyNotDumped(leaf);
        if (leafWhy) refused.push(`critical table ${name} has the partition ${leafName}, which ${leafWhy}`);
        else leaves.push(leafName);
      }
    }
    resolved.set(name, { name, leaves });
  }
  if (refused.length) throw new DrpError(`${refused.join("; ")}; ${REFUSED_HINT}`, 2);
  for (const t of resolved.values())
    for (const n of [t.name, ...(t.leaves ?? [])])
      if (!QUALIFIED_TABLE.test(n)) throw new DrpError(`critical table ${n} has a name drp cannot record; rename it or leave it out`, 1);
  return [...resolved.values()];
}

/**
 * Exact counts of the critical tables, in the client's current transaction: a partitioned table is
 * counted leaf by leaf (what pg_dump writes) and records their sum.
 */
export async function countCritical(client: Client, tables: readonly CriticalTable[]): Promise<CriticalCounts> {
  const rowCounts: Record<string, number> = {};
  const partitions: Record<string, Record<string, number>> = {};
  for (const t of tables) {
    if (!t.leaves) {
      Object.assign(rowCounts, await countRows(client, [t.name]));
      continue;
    }
    const leaves = await countRows(client, t.leaves);
    partitions[t.name] = leaves;
    const sum = Object.values(leaves).reduce((a, n) => a + n, 0);
    if (!Number.isSafeInteger(sum)) throw new DrpError(`row count of ${t.name} (${sum}) is beyond exact JSON numbers`, 1);
    rowCounts[t.name] = sum;
  }
  return { rowCounts, partitions };
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
