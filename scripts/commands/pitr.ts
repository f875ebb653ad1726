/** `drp pitr`: Supabase point-in-time recovery; a dry run unless confirmed with the project ref. */
import type { Command } from "commander";
import { DrpError, emit } from "../lib/cli";
import { configFor, numberOption, warn } from "../data/command-support";

interface PitrFlags {
  projectRef?: string;
  to?: string;
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

const API_ENV_HELP = `Environment:
  SUPABASE_ACCESS_TOKEN   personal access token (Account > Access Tokens)
  SUPABASE_API_URL        API base (default https://api.supabase.com)`;

export function registerPitr(program: Command): void {
  const pitr = program
    .command("pitr")
    // `pitr status --project-ref X`: options after the subcommand's name are the subcommand's.
    .enablePositionalOptions()
    .description("restore the Supabase database in place to a point in time (dry run unless --confirm REF); `pitr status` shows the project")
    .option("--project-ref <ref>", "Supabase project ref (20 letters)")
    .option("--to <time>", "target time, ISO-8601 with a zone, e.g. 2026-11-27T05:58:00Z")
    .option("--confirm <ref>", "run it for real: repeat the project ref")
    .option("--timeout <minutes>", "give up following the restore (and waiting out rate limits) after this long (default 60)")
    .option("--poll-interval <seconds>", "seconds between status checks (default 15)")
    .option("--json", "print one JSON object")
    .addHelpText(
      "after",
      `
Reads the project's status first and refuses unless it is ACTIVE_HEALTHY (a restore already running,
a paused project: the message says what to do). Checks the target against the PITR window
(retention.pitrDays of the config, 7 by default) and the project's earliest/latest recovery points,
and refuses when Supabase does not report them. Without --confirm it only prints what it would do.
With it, it asks Supabase to restore (the project is unavailable meanwhile; everything written after
the target time is lost) and follows the project until it is ACTIVE_HEALTHY again. A 429 is waited out
as long as Retry-After says, within --timeout. If following fails (timeout, network, 5xx), the restore
may still be running at Supabase: drp pitr status --project-ref REF [--wait] tells.
Exit codes: 0 restored (or dry run), 1 refused or failed, 2 bad input.

${API_ENV_HELP}

Example:
  drp pitr --project-ref abcdefghijklmnopqrst --to 2026-11-27T05:58:00Z
  drp pitr --project-ref abcdefghijklmnopqrst --to 2026-11-27T05:58:00Z --confirm abcdefghijklmnopqrst
  drp pitr status --project-ref abcdefghijklmnopqrst --wait`,
    )
    .action(async (flags: PitrFlags) => {
      // Required on use, not imported: starting drp for another command should not load these.
      const { statusLine } = require("../lib/progress") as typeof import("../lib/progress");
      const { checkProjectRef, parseTargetTime, planPitr, runPitr } = require("../data/pitr") as typeof import("../data/pitr");
      const { supabaseApiFromEnv } = require("../data/supabase-api") as typeof import("../data/supabase-api");
      if (flags.projectRef === undefined) throw new DrpError("missing --project-ref REF (the 20 letters in https://REF.supabase.co)", 2);
      if (flags.to === undefined) throw new DrpError("missing --to TIME (ISO-8601 with a zone, e.g. 2026-11-27T05:58:00Z); or run drp pitr status --project-ref REF", 2);
      const ref = checkProjectRef(flags.projectRef);
      const target = parseTargetTime(flags.to);
      if (flags.confirm !== undefined && flags.confirm !== ref)
        throw new DrpError(`--confirm "${flags.confirm}" does not match --project-ref ${ref}; nothing was done`, 2);
      const timeoutMs = (numberOption(flags.timeout, "--timeout", "minutes", 0.05, 24 * 60) ?? 60) * 60_000;
      const pollMs = (numberOption(flags.pollInterval, "--poll-interval", "seconds", 0.05, 600) ?? 15) * 1000;
      const status = statusLine();
      const api = supabaseApiFromEnv(process.env, {
        deadline: Date.now() + timeoutMs,
        onRateLimit: (ms, what) => status(`  rate limited (429) on ${what}: waiting ${Math.ceil(ms / 1000)} s`),
      });
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

      status(`requested restore of ${ref} to ${plan.target}; following the project status`);
      const outcome = await runPitr(api, plan, { timeoutMs, pollMs, onStatus: (s, t) => status(`  ${String(t).padStart(5)} s  ${s}`) });
      emit(Boolean(flags.json), { dryRun: false, ...plan, ...outcome }, () => `restored project ${ref} to ${plan.target}: ${outcome.finalStatus} after ${outcome.elapsedSeconds} s`);
    });

  pitr
    .command("status")
    .description("show a Supabase project's status and recovery window; --wait follows it until ACTIVE_HEALTHY")
    .requiredOption("--project-ref <ref>", "Supabase project ref (20 letters)")
    .option("--wait", "follow the project until it is ACTIVE_HEALTHY (a restore that is running), or fails")
    .option("--timeout <minutes>", "with --wait: give up after this long (default 60)")
    .option("--poll-interval <seconds>", "with --wait: seconds between status checks (default 15)")
    .option("--json", "print one JSON object")
    .addHelpText(
      "after",
      `
Read-only. Exit codes: 0 the project is ACTIVE_HEALTHY, 1 it is not (the line says what to do) or the
API failed, 2 bad input.

${API_ENV_HELP}`,
    )
    .action(async (flags: { projectRef: string; wait?: boolean; timeout?: string; pollInterval?: string; json?: boolean }) => {
      const { statusLine } = require("../lib/progress") as typeof import("../lib/progress");
      const { checkProjectRef, followProject, pitrStatus } = require("../data/pitr") as typeof import("../data/pitr");
      const { supabaseApiFromEnv } = require("../data/supabase-api") as typeof import("../data/supabase-api");
      const ref = checkProjectRef(flags.projectRef);
      const timeoutMs = (numberOption(flags.timeout, "--timeout", "minutes", 0.05, 24 * 60) ?? 60) * 60_000;
      const pollMs = (numberOption(flags.pollInterval, "--poll-interval", "seconds", 0.05, 600) ?? 15) * 1000;
      const line = statusLine();
      const api = supabaseApiFromEnv(process.env, {
        // One look waits out a rate limit for at most its minute; following waits within --timeout.
        deadline: Date.now() + (flags.wait ? timeoutMs : Math.min(timeoutMs, 2 * 60_000)),
        onRateLimit: (ms, what) => line(`  rate limited (429) on ${what}: waiting ${Math.ceil(ms / 1000)} s`),
      });
      if (flags.wait)
        await followProject(api, ref, { timeoutMs, pollMs, onStatus: (s, t) => line(`  ${String(t).padStart(5)} s  ${s}`) }, { what: `restore of ${ref}`, mustLeaveHealthy: false });
      const st = await pitrStatus(api, ref);
      emit(Boolean(flags.json), st, () =>
        [
          `project ${ref}: ${st.status}`,
          `  recovery window ${st.window ? `${st.window.earliest} .. ${st.window.latest}` : "unknown"}${st.pitrEnabled === false ? " (PITR not enabled)" : ""}`,
          `  dashboard ${st.dashboard}`,
        ].join("\n"),
      );
      if (!st.healthy) throw new DrpError(st.guidance ?? `project ${ref} is ${st.status}`, 1);
    });
}
