/** `drp drill`: the whole recovery plan rehearsed on this machine with real servers (no cloud account). */
import { join } from "node:path";
import { Command, Option } from "commander";
import { DrpError, emit } from "../lib/cli";

function timeScale(raw: string): number {
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 1000)) throw new DrpError(`--time-scale "${raw}" is not valid; use a number from 1 (real time: 5 minutes of detection) to 1000`, 2);
  return n;
}

export function registerDrill(program: Command): void {
  program
    .command("drill")
    .description(
      "Rehearse the whole recovery plan locally with real servers (PostgreSQL with WAL archiving, moto S3, the production Worker in workerd, " +
        "two storefront origins, an alert sink) and measure recovery time and data loss. Exit 0 only when every step passed (and, for pitr, nothing was lost).",
    )
    .addOption(new Option("--scenario <name>", "pitr: recover to just before the bad statement; provider-loss: restore the weekly export").choices(["pitr", "provider-loss"]).default("pitr"))
    .option("--time-scale <n>", "divide production waits by this (5 min detection -> 3 s at 100)", "100")
    .option("--out <dir>", "where the timeline and post-mortem are written", join("drill-reports", new Date().toISOString().replace(/[:.]/g, "-")))
    .addOption(new Option("--lang <lang>", "language of the post-mortem").choices(["es", "en"]).default("es"))
    .option("--keep", "after the report, keep the environment running (URLs on stderr) until Ctrl-C")
    .option("--json", "print one JSON object (scenario, ok, rtoSeconds, rpo, steps, alerts, postmortem)")
    .action(async (raw: { scenario: "pitr" | "provider-loss"; timeScale: string; out: string; lang: "es" | "en"; keep?: boolean; json?: boolean }) => {
      const scale = timeScale(raw.timeScale);
      const { runDrill } = (require("../drill/run") as typeof import("../drill/run"));
      const started = Date.now();
      let printed = false;
      const print = (report: import("../drill/run").DrillReport) => {
        if (printed) return;
        printed = true;
        emit(raw.json === true, report, () =>
          [
            `drill ${report.scenario}: ${report.ok ? "PASSED" : `FAILED${report.failedStep ? ` at ${report.failedStep}` : " (data lost)"}`}`,
            `  recovery time (RTO): ${report.rtoSeconds ?? "—"} s (waits scaled 1/${report.timeScale}: detection after ${report.scaled.unhealthyThresholdSeconds} s instead of ${report.scaled.productionUnhealthyMinutes} min)`,
            `  data loss (RPO): ${report.rpo.seconds} s; orders lost ${report.rpo.ordersLost} of ${report.traffic.ordersAcknowledged} acknowledged; comments lost ${report.rpo.commentsLost} of ${report.traffic.commentsAccepted} accepted (${report.traffic.commentsBuffered} buffered at the edge, ${report.traffic.commentsReplayed} replayed)`,
            ...report.steps.map((s) => `  ${s.ok ? "✔" : "✘"} ${s.name.padEnd(16)} ${String(s.seconds).padStart(6)} s  ${s.error ?? s.detail}`),
            `  alerts: ${report.alerts.map((a) => `${a.service} ${a.action}`).join(", ") || "none"}`,
            `  timeline: ${report.timeline}`,
            `  post-mortem: ${report.postmortem ?? "not written"}`,
          ].join("\n"),
        );
      };
      const report = await runDrill({
        scenario: raw.scenario,
        timeScale: scale,
        outDir: raw.out,
        lang: raw.lang,
        onProgress: raw.json ? undefined : (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`),
        keep: raw.keep
          ? async (r, urls) => {
              print(r);
              process.stderr.write(`drill environment kept: the app through the Worker ${urls.edge}, alert sink ${urls.alerts}, database ${urls.database}; Ctrl-C stops it\n`);
              // miniflare answers SIGINT with process.exit(130) before anything is stopped: here Ctrl-C is the
              // normal end, and the drill stops everything itself once this resolves.
              for (const sig of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(sig);
              await new Promise<void>((resolve) => {
                process.once("SIGINT", () => resolve());
                process.once("SIGTERM", () => resolve());
              });
            }
          : undefined,
      });
      print(report);
      if (!report.ok) process.exitCode = 1;
    });
}
