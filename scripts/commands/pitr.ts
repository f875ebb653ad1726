/** `drp pitr`: Supabase point-in-time recovery; a dry run unless confirmed with the project ref. */
import type { Command } from "commander";
import { DrpError, emit } from "../lib/cli";
import { configFor, numberOption, warn } from "../data/command-support";

interface PitrFlags {
  projectRef: string;
  to: string;
  confirm?: string;
  timeout?: string;
  pollInterval?: string;
  json?: boolean;
}

function retentionDays(): number {
  try {
    return configFor("cannot read retention.pitrDays").retention.pitrDays;
  } catch (e) {
    warn(`${(e as Error).message}; assuming the 7-day PITR window`);
    return 7;
  }
}

export function registerPitr(program: Command): void {
  program
    .command("pitr")
    .description("restore the Supabase database in place to a point in time (dry run unless --confirm REF)")
    .requiredOption("--project-ref <ref>", "Supabase project ref (20 letters)")
    .requiredOption("--to <time>", "target time, ISO-8601 with a zone, e.g. 2026-11-27T05:58:00Z")
    .option("--confirm <ref>", "run it for real: repeat the project ref")
    .option("--timeout <minutes>", "stop following the restore after this long (default 60)")
    .option("--poll-interval <seconds>", "seconds between status checks (default 15)")
    .option("--json", "print one JSON object")
    .addHelpText(
      "after",
      `
Checks the target against the PITR window (retention.pitrDays of the config, 7 by default) and the
project's earliest/latest recovery points. Without --confirm it only prints what it would do. With it,
it asks Supabase to restore (the project is unavailable meanwhile; everything written after the target
time is lost) and follows the project until it is ACTIVE_HEALTHY again.

Environment:
  SUPABASE_ACCESS_TOKEN   personal access token (Account > Access Tokens)
  SUPABASE_API_URL        API base (default https://api.supabase.com)

Example:
  drp pitr --project-ref abcdefghijklmnopqrst --to 2026-11-27T05:58:00Z
  drp pitr --project-ref abcdefghijklmnopqrst --to 2026-11-27T05:58:00Z --confirm abcdefghijklmnopqrst`,
    )
    .action(async (flags: PitrFlags) => {
      // Required on use, not imported: starting drp for another command should not load these.
      const { statusLine } = require("../lib/progress") as typeof import("../lib/progress");
      const { checkProjectRef, parseTargetTime, planPitr, runPitr } = require("../data/pitr") as typeof import("../data/pitr");
      const { supabaseApiFromEnv } = require("../data/supabase-api") as typeof import("../data/supabase-api");
      const ref = checkProjectRef(flags.projectRef);
      const target = parseTargetTime(flags.to);
      if (flags.confirm !== undefined && flags.confirm !== ref)
        throw new DrpError(`--confirm "${flags.confirm}" does not match --project-ref ${ref}; nothing was done`, 2);
      const timeoutMs = (numberOption(flags.timeout, "--timeout", "minutes", 1, 24 * 60) ?? 60) * 60_000;
      const pollMs = (numberOption(flags.pollInterval, "--poll-interval", "seconds", 0.05, 600) ?? 15) * 1000;
      const api = supabaseApiFromEnv();
      const plan = await planPitr(api, ref, target, retentionDays());

      if (flags.confirm === undefined) {
        emit(Boolean(flags.json), { dryRun: true, ...plan }, () =>
          [
            `dry run: would restore project ${ref} in place to ${plan.target} (unix ${plan.targetUnix})`,
            `  recovery window ${plan.window.earliest} .. ${plan.window.latest} (${plan.window.retentionDays}-day PITR)`,
            `  request: ${plan.request.method} ${plan.request.path} ${JSON.stringify(plan.request.body)}`,
            `  the project is unavailable during the restore and loses everything written after ${plan.target}`,
            `to run it: drp pitr --project-ref ${ref} --to ${flags.to} ${plan.confirmFlag}`,
          ].join("\n"),
        );
        return;
      }

      const status = statusLine();
      status(`requested restore of ${ref} to ${plan.target}; following the project status`);
      const outcome = await runPitr(api, plan, { timeoutMs, pollMs, onStatus: (s, t) => status(`  ${String(t).padStart(5)} s  ${s}`) });
      emit(Boolean(flags.json), { dryRun: false, ...plan, ...outcome }, () => `restored project ${ref} to ${plan.target}: ${outcome.finalStatus} after ${outcome.elapsedSeconds} s`);
    });
}
