/** `drp smoke`: the post-recovery gate that must pass before traffic reopens. */
import { Command, Option } from "commander";
import { emit } from "../lib/cli";
import { SMOKE_DEFAULTS, parseSmokeOptions } from "../smoke/options";
import { formatReport, runSmoke } from "../smoke/run";

export function registerSmoke(program: Command): void {
  program
    .command("smoke")
    .description(
      "Post-recovery smoke gate: health endpoint, storefront page and an API read against --url, each within a latency budget. " +
        "With the bypass token it checks the origin through the Worker while visitors still see the maintenance page. " +
        "Exit 0 all passed, 1 a check failed, 2 bad usage.",
    )
    .option("--url <url>", "base URL of the app, e.g. https://app.livestreamsell.ai")
    .addOption(new Option("--bypass-token <token>", "the Worker's bypass token (prefer the env var: flags show in ps)").env("DRP_BYPASS_TOKEN"))
    .option("--timeout-ms <n>", "abandon a check after this many ms", String(SMOKE_DEFAULTS.timeoutMs))
    .option("--budget-ms <n>", `latency budget per check, in ms (default: ${SMOKE_DEFAULTS.budgetMs}, or --timeout-ms if lower)`)
    .option("--health-path <path>", "health endpoint: 2xx and JSON reporting ok (or the text ok)", SMOKE_DEFAULTS.healthPath)
    .option("--page-path <path>", "storefront page: 200 HTML, not the maintenance page", SMOKE_DEFAULTS.pagePath)
    .option("--api-path <path>", "API read: 200 JSON", SMOKE_DEFAULTS.apiPath)
    .option("--json", "print one JSON object { ok, url, checks }")
    .action(async (raw: { json?: boolean } & Parameters<typeof parseSmokeOptions>[0]) => {
      const options = parseSmokeOptions(raw);
      const report = await runSmoke(options);
      emit(raw.json === true, report, () => formatReport(report, options.bypassToken !== undefined));
      if (!report.ok) process.exitCode = 1;
    });
}
