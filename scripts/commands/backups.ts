/** `drp backups check`: is every backup the plan promises there and fresh, today? */
import type { Command } from "commander";
import { DrpError } from "../lib/cli";
import { configFor, S3_ENV_HELP } from "../data/command-support";

interface CheckFlags {
  deep?: boolean;
  json?: boolean;
  bucket?: string;
  repo?: string;
  mainRef: string;
}

export function registerBackups(program: Command): void {
  const backups = program.command("backups").description("daily backup assurance: check that every backup promise of the plan holds");
  backups
    .command("check")
    .description("check Supabase PITR and daily backups, the weekly export, file replication and the code bundle")
    .option("--deep", "also verify the newest export in full (SHA-256 and pg_restore --list; needs pg_restore)")
    .option("--bucket <name>", "DR bucket (default: $DRP_EXPORT_BUCKET, else <project>-dr-<storage region> from the config)")
    .option("--repo <dir>", "a checkout of the infrastructure repository: the code bundle must be as new as its main branch (default: $DRP_REPO; without it the bundle must be younger than assurance.codeBundleMaxAgeDays)")
    .option("--main-ref <ref>", "the branch the code bundle must keep up with", "main")
    .option("--json", "print one JSON object: { ok, checks: [{ id, ok, value, limit, unit, fix, detail }] }")
    .addHelpText(
      "after",
      `
Checks (thresholds from the config's assurance section and retention.pitrDays):
  supabase.pitr             PITR enabled with the configured retention (7/14/28 days)
  supabase.daily-backup     newest completed daily backup younger than assurance.dailyBackupMaxAgeHours (26)
  supabase.recovery-point   the PITR window's latest point younger than assurance.recoveryPointMaxAgeMinutes (30)
  export.newest             newest complete export (with its manifest) younger than assurance.exportMaxAgeDays (8)
  export.dump               its dump present at the recorded version, size and Object Lock retention
  export.verify             (--deep) the full drp verify of that export
  files.replication-rule    the files bucket's replication rule into the DR bucket is Enabled
  files.replication-status  among the newest objects, FAILED/PENDING replication within the limits (where S3 reports it)
  code.bundle               the newest code/ bundle is as new as main (or younger than assurance.codeBundleMaxAgeDays)

Exit codes: 0 every promise holds, 1 at least one is broken (each named with its fix), 2 bad input.
It runs daily as a scheduled task in the storage region; a non-zero exit pages the on-call.

Environment:
  DRP_CONFIG / DRP_CONFIG_JSON   the plan's configuration (file path / the JSON itself)
  SUPABASE_ACCESS_TOKEN   personal access token (Account > Access Tokens)
  SUPABASE_API_URL        API base (default https://api.supabase.com)
${S3_ENV_HELP}

Example:
  drp backups check --repo . --json`,
    )
    .action(async (flags: CheckFlags) => {
      // Required on use, not imported: starting drp for another command should not load these.
      const { drBucketName } = require("../../constructs/config") as typeof import("../../constructs/config");
      const { createS3Client, isBucketName } = require("../lib/s3") as typeof import("../lib/s3");
      const { supabaseApiFromEnv } = require("../data/supabase-api") as typeof import("../data/supabase-api");
      const { checkBackups, formatResults } = require("../backups/check") as typeof import("../backups/check");
      const config = configFor("cannot check backups");
      const bucket = flags.bucket ?? process.env.DRP_EXPORT_BUCKET ?? drBucketName(config);
      if (!isBucketName(bucket)) throw new DrpError(`DR bucket "${bucket}" is not a valid S3 bucket name; pass --bucket NAME`, 2);
      const repoDir = flags.repo ?? process.env.DRP_REPO;
      if (!/^[A-Za-z0-9._/-]+$/.test(flags.mainRef) || flags.mainRef.startsWith("-")) throw new DrpError(`--main-ref "${flags.mainRef}" is not a branch name; use e.g. main or origin/main`, 2);
      const supabase = supabaseApiFromEnv();
      // Each bucket is read in its own region: the DR bucket in the storage region, the files bucket in its own.
      const s3 = createS3Client({ ...process.env, AWS_REGION: config.regions.storage });
      const filesS3 = createS3Client({ ...process.env, AWS_REGION: config.files.region });
      const verify = flags.deep
        ? async (uri: string) => {
            const { verifyExport } = require("../data/verify") as typeof import("../data/verify");
            const { withByteProgress } = require("../lib/progress") as typeof import("../lib/progress");
            // The one long part: the dump streams through SHA-256 and pg_restore --list.
            const r = await withByteProgress("verifying the newest export", (hooks) => verifyExport({ s3, uri, ...hooks }));
            return `sha256 ${r.sha256}, ${r.tocEntries} TOC entries`;
          }
        : undefined;
      try {
        const checks = await checkBackups({ config, s3, filesS3, bucket, supabase, repo: repoDir ? { dir: repoDir, ref: flags.mainRef } : undefined, verify });
        const broken = checks.filter((c) => !c.ok);
        process.stdout.write(flags.json ? `${JSON.stringify({ ok: broken.length === 0, checks })}\n` : `${formatResults(checks)}\n`);
        if (broken.length) throw new DrpError(`${broken.length} backup promise${broken.length > 1 ? "s" : ""} broken: ${broken.map((c) => c.id).join(", ")}`, 1);
      } finally {
        s3.destroy();
        filesS3.destroy();
      }
    });
}
