/** `drp restore`: an export into any PostgreSQL, checksum first, all-or-nothing by default. */
import type { Command } from "commander";
import { emit } from "../lib/cli";
import { intOption, S3_ENV_HELP } from "../data/command-support";
import { DEFAULT_RESTORE_TIMEOUTS, formatDuration, RESTORE_TIMEOUTS_HELP } from "../data/timeouts";

interface RestoreFlags {
  target: string;
  force?: boolean;
  jobs?: string;
  owner?: boolean;
  lockTimeout?: string;
  statementTimeout?: string;
  overwriteSource?: boolean;
  json?: boolean;
}

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .description("restore an export into a database: checksum verified first, refuses a non-empty target, row counts checked after")
    .argument("<manifest>", "s3://BUCKET/.../manifest.json")
    .requiredOption("--target <url>", "database to restore into: postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    .option("--force", "restore into a non-empty target, dropping and recreating the export's objects (pg_restore --clean --if-exists)")
    .option("--jobs <n>", "parallel pg_restore workers; above 1 the restore is no longer one transaction (default 1)")
    .option("--no-owner", "skip ownership and grants (target without the source's roles)")
    .option("--lock-timeout <duration>", `longest wait for one lock on the target, e.g. 30s, 5min; 0 waits forever (default: $DRP_LOCK_TIMEOUT, else ${formatDuration(DEFAULT_RESTORE_TIMEOUTS.lockTimeoutMs)})`)
    .option("--statement-timeout <duration>", `longest single statement, e.g. one table's COPY; 0 no limit (default: $DRP_STATEMENT_TIMEOUT, else ${formatDuration(DEFAULT_RESTORE_TIMEOUTS.statementTimeoutMs)})`)
    .option("--overwrite-source", "allow --force into the export's own source database, rolling it back to the export")
    .option("--json", "print one JSON object")
    .addHelpText(
      "after",
      `
Order: manifest validated, dump size checked, target inspected (non-empty is refused without --force),
then the dump streams from S3 into pg_restore --exit-on-error --single-transaction while it is hashed;
pg_restore gets the dump's last bytes, and so can commit, only once its size, SHA-256 and table of
contents match the manifest: a bad dump, like any failure, leaves the target as it was. --jobs N trades
that guarantee for speed on big dumps (the dump is then downloaded to TMPDIR and proven first).
Afterwards the critical tables' exact row counts must match the manifest.

A session that holds a lock the restore needs for longer than the lock timeout fails the restore (exit 1,
the target left as it was) with that session's pid, user, application and client, and how to end it.
--force refuses the export's own source database (same system identifier and database name): that would
roll it back; --overwrite-source says it is intended. The target URL's query takes libpq keywords except
host, hostaddr, port, dbname, user, service, passfile and replication, which belong in the URL itself.

Environment:
${S3_ENV_HELP}
${RESTORE_TIMEOUTS_HELP}
  TMPDIR                  with --jobs above 1, where the dump is downloaded (needs its size free; removed afterwards)

Example:
  drp restore s3://livestreamsell-dr/exports/abcdefghijklmnopqrst/2026-11-27T06-00-00Z/manifest.json \\
    --target "postgresql://postgres:PW@new-host:5432/postgres"`,
    )
    .action(async (uri: string, flags: RestoreFlags) => {
      // Required on use, not imported: starting drp for another command should not load these.
      const { formatBytes, formatRowCounts, withByteProgress } = require("../lib/progress") as typeof import("../lib/progress");
      const { createS3Client } = require("../lib/s3") as typeof import("../lib/s3");
      const { connectionFromUrl } = require("../data/connection") as typeof import("../data/connection");
      const { restoreExport } = require("../data/restore") as typeof import("../data/restore");
      const { restoreTimeouts } = require("../data/timeouts") as typeof import("../data/timeouts");
      const jobs = intOption(flags.jobs, "--jobs", 1, 64);
      const timeouts = restoreTimeouts(flags);
      const target = connectionFromUrl(flags.target, "--target");
      const s3 = createS3Client();
      const result = await withByteProgress((jobs ?? 1) > 1 ? "downloading" : "restoring", (hooks) =>
        restoreExport({ s3, uri, target, force: Boolean(flags.force), jobs, noOwner: flags.owner === false, timeouts, overwriteSource: Boolean(flags.overwriteSource), ...hooks }),
      );
      emit(Boolean(flags.json), { ok: true, ...result }, () => {
        const counts = formatRowCounts(result.rowCounts);
        return [
          `restored ${result.manifest}`,
          `  into ${result.target} (${formatBytes(result.bytes)}, sha256 ${result.sha256}, ${result.singleTransaction ? "single transaction" : `${jobs} jobs`})`,
          `  row counts match the manifest: ${counts}`,
        ].join("\n");
      });
    });
}
