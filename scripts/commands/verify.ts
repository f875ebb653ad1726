/** `drp verify`: proves an export complete, intact and (with --restore-test) restorable. */
import type { Command } from "commander";
import { emit } from "../lib/cli";
import { DATABASE_ENV_HELP, intOption, S3_ENV_HELP } from "../data/command-support";

interface VerifyFlags {
  restoreTest?: boolean;
  scratchUrl?: string;
  jobs?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("check an export: manifest, size, SHA-256, pg_restore readability; optionally a test restore")
    .argument("<manifest>", "s3://BUCKET/.../manifest.json")
    .option("--restore-test", "also restore into a scratch database and compare exact row counts with the manifest")
    .option("--scratch-url <url>", "server for the scratch database (default: DATABASE_URL / PG*); its role needs CREATEDB")
    .option("--jobs <n>", "parallel pg_restore workers for the restore test (default: up to 4)")
    .option("--json", "print one JSON object")
    .addHelpText(
      "after",
      `
The scratch database (drp_verify_*) is created from template0 and dropped afterwards, whatever happens.
Exit codes: 0 the export is good, 1 it is not (or a check could not run), 2 bad usage.

Environment:
${DATABASE_ENV_HELP}
${S3_ENV_HELP}
  TMPDIR                  where --restore-test downloads the dump (needs its size free)

Example:
  drp verify s3://livestreamsell-dr/exports/abcdefghijklmnopqrst/2026-11-27T06-00-00Z/manifest.json --restore-test`,
    )
    .action(async (uri: string, flags: VerifyFlags) => {
      // Required on use, not imported: starting drp for another command should not load these.
      const { formatBytes, formatRowCounts, withByteProgress } = require("../lib/progress") as typeof import("../lib/progress");
      const { createS3Client } = require("../lib/s3") as typeof import("../lib/s3");
      const { connectionFromEnv, connectionFromUrl } = require("../data/connection") as typeof import("../data/connection");
      const { verifyExport } = require("../data/verify") as typeof import("../data/verify");
      const jobs = intOption(flags.jobs, "--jobs", 1, 64);
      const server = flags.restoreTest ? (flags.scratchUrl ? connectionFromUrl(flags.scratchUrl, "--scratch-url") : connectionFromEnv()) : undefined;
      const s3 = createS3Client();
      const result = await withByteProgress(flags.restoreTest ? "downloading" : "verifying", (hooks) =>
        verifyExport({ s3, uri, restoreTest: server ? { server, jobs } : undefined, ...hooks }),
      );
      emit(Boolean(flags.json), { ok: true, ...result }, () => {
        const counts = formatRowCounts(result.rowCounts);
        return [
          `OK ${result.manifest}`,
          `  dump ${formatBytes(result.bytes)}, sha256 ${result.sha256}, ${result.tocEntries} TOC entries`,
          result.restoreTest ? `  restore test: row counts match (${counts})` : `  row counts recorded: ${counts} (run with --restore-test to check them)`,
        ].join("\n");
      });
    });
}
