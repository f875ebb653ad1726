/** `drp export`: the weekly export to the DR bucket; also the scheduled ECS task's command. */
import type { Command } from "commander";
import { DrpError, emit } from "../lib/cli";
import { configFor, DATABASE_ENV_HELP, S3_ENV_HELP, warn } from "../data/command-support";

interface ExportFlags {
  bucket?: string;
  prefix?: string;
  criticalTables?: string;
  json?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("dump the database (pg_dump -Fc) into the DR bucket, hashed while streaming, manifest written last")
    .option("--bucket <name>", "DR bucket (default: $DRP_EXPORT_BUCKET)")
    .option("--prefix <prefix>", "key prefix ending in / (default: $DRP_EXPORT_PREFIX, else export.prefix of the config)")
    .option(
      "--critical-tables <list>",
      "comma-separated tables to count exactly; a partitioned table counts as its leaf partitions (default: $DRP_CRITICAL_TABLES, else export.criticalTables)",
    )
    .option("--json", "print one JSON object: manifest, sha256, bytes, rowCounts, ...")
    .addHelpText(
      "after",
      `
Writes <prefix><project-or-db>/<UTC time>/db.dump, then manifest.json next to it. An export without its
manifest is incomplete; a failed export leaves none, so running again is safe. Prints the manifest URI.
A failed, stalled or interrupted export (Ctrl-C: exit 130, SIGTERM: 143) aborts its multipart upload,
waiting up to DRP_S3_ABORT_TIMEOUT_MS for S3, and ends its snapshot transaction before it exits.

Environment:
${DATABASE_ENV_HELP}
  DRP_EXPORT_BUCKET, DRP_EXPORT_PREFIX, DRP_CRITICAL_TABLES   defaults for the flags above
${S3_ENV_HELP}

Example:
  DATABASE_URL=postgresql://postgres:PW@db.REF.supabase.co:5432/postgres drp export --bucket livestreamsell-dr`,
    )
    .action(async (flags: ExportFlags) => {
      // Required on use, not imported: starting drp for another command should not load these.
      const { withByteProgress } = require("../lib/progress") as typeof import("../lib/progress");
      const { createS3Client, isBucketName, s3AbortTimeoutMs } = require("../lib/s3") as typeof import("../lib/s3");
      const { connectionFromEnv } = require("../data/connection") as typeof import("../data/connection");
      const { exportDatabase } = require("../data/export") as typeof import("../data/export");
      const { checkPrefix, checkTableNames, parseTableList } = require("../data/manifest") as typeof import("../data/manifest");
      const bucket = flags.bucket ?? process.env.DRP_EXPORT_BUCKET;
      if (!bucket) throw new DrpError("no bucket: pass --bucket NAME or set DRP_EXPORT_BUCKET", 2);
      if (!isBucketName(bucket)) throw new DrpError(`bucket "${bucket}" is not a valid S3 bucket name`, 2);

      const rawPrefix = flags.prefix ?? process.env.DRP_EXPORT_PREFIX;
      const rawTables = flags.criticalTables ?? process.env.DRP_CRITICAL_TABLES;
      const tablesSource = flags.criticalTables !== undefined ? "--critical-tables" : "DRP_CRITICAL_TABLES";
      const config = rawPrefix === undefined || rawTables === undefined ? configFor("cannot read export defaults from the configuration") : undefined;
      const prefix = checkPrefix(rawPrefix ?? config!.export.prefix, rawPrefix === undefined ? "export.prefix" : flags.prefix !== undefined ? "--prefix" : "DRP_EXPORT_PREFIX");
      const criticalTables = rawTables !== undefined ? parseTableList(rawTables, tablesSource) : checkTableNames(config!.export.criticalTables, "export.criticalTables");

      const db = connectionFromEnv();
      const s3 = createS3Client();
      const abortTimeoutMs = s3AbortTimeoutMs();
      const result = await withByteProgress("exporting", ({ onBytes }) => exportDatabase({ s3, bucket, prefix, criticalTables, db, onBytes, abortTimeoutMs }));
      const { manifest, manifestUri } = result;
      for (const w of manifest.warnings) warn(w);
      emit(
        Boolean(flags.json),
        {
          manifest: manifestUri,
          dump: `s3://${manifest.objects.bucket}/${manifest.objects.dumpKey}`,
          sha256: manifest.dump.sha256,
          bytes: manifest.dump.bytes,
          rowCounts: manifest.rowCounts,
          partitions: manifest.partitions,
          retainUntil: manifest.dump.objectLock.retainUntil,
          startedAt: manifest.startedAt,
          finishedAt: manifest.finishedAt,
          warnings: manifest.warnings,
          timings: result.timings,
        },
        () => manifestUri,
      );
    });
}
