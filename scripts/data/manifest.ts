/**
 * The export manifest: the only proof that an export is complete. It is written last, next to the dump,
 * and everything read back from it is validated here before it reaches S3 calls or SQL.
 */
import { posix } from "node:path";
import type { z as Zod } from "zod";
import { DrpError } from "../lib/cli";
import { isBucketName } from "../lib/s3";

/**
 * Version 2 added `partitions` (the leaf partitions behind a partitioned critical table). Version 1
 * manifests, which have none, stay readable.
 */
export const MANIFEST_FORMAT_VERSION = 2;
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, MANIFEST_FORMAT_VERSION];
export const MANIFEST_FILE = "manifest.json";
export const DUMP_FILE = "db.dump";

const IDENT = "[A-Za-z_][A-Za-z0-9_$]{0,62}";
/** A table as given in flags, env or config: `orders` or `shop.orders`. */
export const TABLE_NAME = new RegExp(`^(${IDENT}\\.)?${IDENT}$`);
/** A table as recorded in a manifest: always schema-qualified. */
export const QUALIFIED_TABLE = new RegExp(`^${IDENT}\\.${IDENT}$`);

/** S3 keys we write: safe characters, no empty, `.` or `..` segments, no leading slash. */
const OBJECT_KEY = /^(?!\/)(?!.*\/\/)(?!(.*\/)?\.\.?(\/|$))[A-Za-z0-9!_.*'()/-]{1,1024}$/;

export function splitTable(qualified: string): { schema: string; table: string } {
  const [schema, table] = qualified.split(".");
  return { schema, table };
}

/** Parses a comma-separated table list (flag or DRP_CRITICAL_TABLES); names the offending entry. */
export function parseTableList(raw: string, source: string): string[] {
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new DrpError(`${source} is empty; give table names such as orders,order_states,audit_logs`, 2);
  return checkTableNames(names, source);
}

export function checkTableNames(names: readonly string[], source: string): string[] {
  for (const n of names)
    if (!TABLE_NAME.test(n))
      throw new DrpError(`${source}: "${n}" is not a valid table name; use letters, digits and _ (e.g. orders or shop.orders)`, 2);
  return [...new Set(names)];
}

/** The manifest's schema, built on first use: zod takes tens of milliseconds to load, which every
 * export would otherwise spend before pg_dump starts (export builds it while pg_dump starts instead). */
function buildManifestSchema() {
  const { z } = require("zod") as typeof import("zod");
  const isoInstant = z.iso.datetime({ offset: false });
  const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, "must be 64 lowercase hex digits");
  const objectKey = z.string().regex(OBJECT_KEY, "must be a plain S3 key (no leading /, no empty, . or .. segments)");
  const lockMode = z.enum(["GOVERNANCE", "COMPLIANCE"]);
  const qualifiedTable = z.string().regex(QUALIFIED_TABLE, "must be a schema-qualified table name");

  return z
    .strictObject({
      formatVersion: z.union([z.literal(1), z.literal(MANIFEST_FORMAT_VERSION)]),
      kind: z.literal("postgres-export"),
      createdBy: z.string().max(200),
      source: z.strictObject({
        /** Project ref or database name. */
        name: z.string().regex(/^[a-z0-9_-]{1,100}$/),
        serverVersion: z.string().max(200),
        serverVersionNum: z.int().min(90200),
        pgDumpVersion: z.string().max(200),
        /** The cluster's system identifier and the database's name, so a restore can refuse to roll the source back (absent in older manifests). */
        systemIdentifier: z.string().regex(/^\d{1,20}$/).optional(),
        database: z.string().min(1).max(200).optional(),
      }),
      startedAt: isoInstant,
      finishedAt: isoInstant,
      objects: z.strictObject({
        bucket: z.string().refine(isBucketName, "must be a valid S3 bucket name"),
        manifestKey: objectKey,
        dumpKey: objectKey,
      }),
      dump: z.strictObject({
        format: z.literal("pg_dump-custom"),
        bytes: z.int().positive(),
        sha256: sha256Hex,
        versionId: z.string().min(1).max(1024).nullable(),
        objectLock: z.strictObject({
          /** The bucket's default retention when the export ran; null when the bucket has no lock configuration. */
          bucketDefault: z.strictObject({ mode: lockMode, days: z.int().positive().optional(), years: z.int().positive().optional() }).nullable(),
          mode: lockMode.nullable(),
          retainUntil: isoInstant.nullable(),
        }),
      }),
      /** Exact row counts of the critical tables, from the dump's own snapshot. */
      rowCounts: z.record(qualifiedTable, z.int().nonnegative()),
      /**
       * For each partitioned critical table, the exact row count of every leaf partition (pg_dump writes
       * data for the leaves only); the parent's row count is their sum. Format 2 on.
       */
      partitions: z.record(qualifiedTable, z.record(qualifiedTable, z.int().nonnegative())).optional(),
      warnings: z.array(z.string().max(500)),
    })
    .superRefine((m, ctx) => {
      const dir = posix.dirname(m.objects.manifestKey);
      if (posix.basename(m.objects.manifestKey) !== MANIFEST_FILE)
        ctx.addIssue({ code: "custom", path: ["objects", "manifestKey"], message: `must end in /${MANIFEST_FILE}` });
      if (m.objects.dumpKey !== posix.join(dir, DUMP_FILE))
        ctx.addIssue({ code: "custom", path: ["objects", "dumpKey"], message: `must be ${DUMP_FILE} next to the manifest` });
      if (Object.keys(m.rowCounts).length === 0) ctx.addIssue({ code: "custom", path: ["rowCounts"], message: "must name at least one table" });
      if (m.formatVersion === 1 && m.partitions) ctx.addIssue({ code: "custom", path: ["partitions"], message: "is not part of format version 1" });
      if (m.formatVersion !== 1 && !m.partitions) ctx.addIssue({ code: "custom", path: ["partitions"], message: "is required from format version 2 on" });
      for (const [parent, leaves] of Object.entries(m.partitions ?? {})) {
        const sum = Object.values(leaves).reduce((a, n) => a + n, 0);
        if (m.rowCounts[parent] === undefined) ctx.addIssue({ code: "custom", path: ["partitions", parent], message: "is not a table in rowCounts" });
        else if (sum !== m.rowCounts[parent])
          ctx.addIssue({ code: "custom", path: ["partitions", parent], message: `leaf partitions sum to ${sum} rows but rowCounts records ${m.rowCounts[parent]}` });
      }
      if (Date.parse(m.finishedAt) < Date.parse(m.startedAt)) ctx.addIssue({ code: "custom", path: ["finishedAt"], message: "is before startedAt" });
    });
}

let schema: ReturnType<typeof buildManifestSchema> | undefined;
export const manifestSchema = () => (schema ??= buildManifestSchema());

export type Manifest = Zod.infer<ReturnType<typeof buildManifestSchema>>;

/** What the critical tables hold: the manifest's counts, and the leaves behind partitioned tables. */
export type CriticalCounts = Pick<Manifest, "rowCounts" | "partitions">;

/** Every count to check after a restore: each critical table, and each leaf partition behind one. */
export function expectedCounts(counts: CriticalCounts): Record<string, number> {
  const out: Record<string, number> = { ...counts.rowCounts };
  for (const leaves of Object.values(counts.partitions ?? {})) Object.assign(out, leaves);
  return out;
}

/** The tables whose data the dump must hold: each critical table, or the leaves of a partitioned one. */
export function tablesWithData(counts: CriticalCounts): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of Object.keys(counts.rowCounts)) {
    const leaves = counts.partitions?.[t];
    if (!leaves) out.set(t, t);
    else for (const leaf of Object.keys(leaves)) out.set(leaf, `${leaf} (partition of ${t})`);
  }
  return out;
}

/** Validates manifest text; every failure is one line naming the field. */
export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DrpError(`manifest ${where} is not valid JSON (${(e as Error).message.split("\n")[0]})`, 1);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version !== "number" || !READABLE_FORMAT_VERSIONS.includes(version))
    throw new DrpError(
      `manifest ${where} has format version ${JSON.stringify(version)}; this drp reads versions ${READABLE_FORMAT_VERSIONS.join(" and ")} (use the drp release that wrote it)`,
      1,
    );
  const result = manifestSchema().safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path.map(String).join(".") || "(root)";
    // A bad record key says only "Invalid key in record"; the key's own rule is the useful part.
    const message = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : "";
    throw new DrpError(`manifest ${where} is invalid: ${path}: ${message}${more}`, 1);
  }
  return result.data;
}

/** `2026-11-27T06-00-00Z`: sortable, and free of characters that need escaping in keys. */
export function exportStamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/:/g, "-");
}

export function exportKeys(prefix: string, name: string, started: Date): { dir: string; dumpKey: string; manifestKey: string } {
  const dir = `${prefix}${name}/${exportStamp(started)}/`;
  return { dir, dumpKey: `${dir}${DUMP_FILE}`, manifestKey: `${dir}${MANIFEST_FILE}` };
}

/** Key prefix as the config allows it (`exports/`), or empty. */
export function checkPrefix(prefix: string, source: string): string {
  if (prefix !== "" && !/^[a-z0-9][a-z0-9/_-]*\/$/.test(prefix))
    throw new DrpError(`${source} "${prefix}" is not a valid key prefix; use lowercase letters, digits, / _ - and end with / (e.g. exports/)`, 2);
  if (prefix.includes("//")) throw new DrpError(`${source} "${prefix}" contains an empty path segment`, 2);
  return prefix;
}
