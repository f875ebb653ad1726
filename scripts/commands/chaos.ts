/** `drp chaos`: experiments that rehearse the plan's failure scenarios. Each subcommand registers in its own function. */
import { Command, Option } from "commander";
import { DrpError, emit } from "../lib/cli";

export function registerChaos(program: Command): void {
  const chaos = program.command("chaos").description("Chaos experiments: the plan's failure scenarios, rehearsed");
  registerSpike(chaos);
  registerRun(chaos);
}

const RUN_HELP = `
Scenarios: webhook-disconnect, ai-latency, payment-down, comment-spike.

Locally (no --target): starts the drill environment (PostgreSQL, the storefront, stand-ins for the AI provider
and the payment gateway, the production Worker in workerd), checks the steady state through the Worker,
injects the fault in a proxy in front of the stand-in (latency, refusal, blackhole), probes during and after,
rolls back. --time-scale N divides the waits (30 s of AI latency, the 30 s fault window, the 60 s spike) by N.
With --cloud: finds the chaos stack's FIS experiment template tagged drp:scenario=<scenario>, starts it,
polls it to its end, and probes --target meanwhile (AWS_ENDPOINT_URL_FIS overrides the FIS endpoint).

A steady state that does not hold before injection stops the run before any fault. Ctrl-C rolls back.
The journal (JSON and Markdown) goes to --journal DIR as <scenario>-<time>.json/.md.

Exit codes: 0 the hypothesis held, 1 it deviated (or the steady state did not hold, or the fault could not be
injected or rolled back), 2 bad input (nothing injected), 130 interrupted (rolled back, journal written).`;

interface RunFlags {
  target?: string;
  cloud?: boolean;
  timeScale?: string;
  journal?: string;
  breakStandIn?: string;
  pollMs?: string;
  secret?: string;
  json?: boolean;
}

function registerRun(chaos: Command): void {
  chaos
    .command("run")
    .description("Run one of the plan's chaos scenarios: steady state, bounded fault, probes during and after, rollback, journal")
    .argument("<scenario>", "webhook-disconnect | ai-latency | payment-down | comment-spike")
    .option("--target <url>", "public URL of a deployed environment (with --cloud): the probes check it")
    .option("--cloud", "start the scenario's AWS FIS experiment (chaos stack) and poll it, instead of the local drill environment")
    .option("--time-scale <n>", "local runs: divide the scenario's waits by this (1 to 10; default 1, real time)")
    .option("--journal <dir>", "directory of the journal (JSON and Markdown; default ./chaos-journal)")
    .option("--break-stand-in <what>", "local runs: a stand-in missing a safeguard, to see the experiment fail (ai-timeout, bank-transfer-fallback, database)")
    .option("--poll-ms <n>", "with --cloud: milliseconds between two polls of the experiment (default 10000)")
    .addOption(new Option("--secret <secret>", "with --cloud: Meta app secret to sign the webhook probes (required for webhook-disconnect and comment-spike)").env("META_APP_SECRET"))
    .option("--json", "print the journal as one JSON object")
    .addHelpText("after", RUN_HELP)
    .action(async (scenario: string, flags: RunFlags) => {
      const { chaosRunOptions, runChaos } = require("../chaos/run") as typeof import("../chaos/run");
      const options = chaosRunOptions(scenario, flags);
      const started = Date.now();
      const journal = await runChaos(options, flags.json ? undefined : (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`));
      emit(flags.json === true, journal, () =>
        [`chaos ${journal.scenario} (${journal.mode}): hypothesis ${journal.verdict.toUpperCase()}: ${journal.reason}`, `  journal: ${journal.paths.json}`, `  report:  ${journal.paths.report}`].join("\n"),
      );
      if (journal.verdict !== "held") process.exitCode = 1;
    });
}

const SPIKE_HELP = `
The schedule is open loop: arrival i is sent at start + i x (60 s / rate) whatever the earlier answers, so a
saturated receiver shows as latency, timeouts and rejections. An arrival that finds every connection of the
pool (--max-in-flight) busy is not queued: it fails at its due time (failedBy.saturated).

Counts: sent = arrivals that came due = accepted (2xx; "buffered" when the edge queued it) + rejected (any other
status, split by status) + failed (timeout, network error, or saturated). Latency percentiles cover answered
requests. achievedPerMinute = requests put on the wire / (actual dispatch time of the last arrival - start +
one interval) x 60 s. scheduleErrorPct = 100 x |1 - achievedPerMinute / rate|: 0 when every arrival left at
its due time; arrivals failed as saturated and a generator falling behind schedule raise it (a last arrival
leaving 600 ms late in a 60 s run is 1%). lateMs gives each arrival's lateness against its due time.

Exit codes: 0 the spike ran (read the counts), 1 no arrival was accepted (target down, wrong secret),
2 bad input (nothing sent), 130 interrupted (the partial report is printed).`;

interface SpikeFlags {
  target?: string;
  rate?: string;
  duration?: string;
  secret?: string;
  timeoutMs?: string;
  maxInFlight?: string;
  yes?: boolean;
  json?: boolean;
}

function wholeNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new DrpError(`${flag} "${raw}" is not a whole number; see drp chaos spike --help for its bounds`, 2);
  return Number(raw);
}

function registerSpike(chaos: Command): void {
  // Only the defaults, for the help text; the generator's module has no heavy imports.
  const { SPIKE_DEFAULTS } = require("../chaos/spike") as typeof import("../chaos/spike");
  chaos
    .command("spike")
    .description(
      "Send signed Meta comment webhooks (X-Hub-Signature-256) at a fixed rate for a duration, open loop, and report sent, accepted, " +
        "rejected and failed counts, latency percentiles, the achieved rate and the schedule error. A target that is not loopback needs --yes.",
    )
    .option("--target <url>", "base URL of the app or the edge (the webhook path /webhooks/meta is added when the URL has no path), or the full webhook URL")
    .option("--rate <rate>", "arrivals: N/min (or N, per minute) or N/s, e.g. 5000/min")
    .option("--duration <duration>", "how long the schedule runs: Ns, Nm or Nms, e.g. 60s")
    .addOption(new Option("--secret <secret>", "Meta app secret to sign with (prefer the env var: flags show in ps)").env("META_APP_SECRET"))
    .option("--timeout-ms <n>", `a request unanswered after this many ms fails (timeout) (default: ${SPIKE_DEFAULTS.timeoutMs})`)
    .option("--max-in-flight <n>", `sockets in the keep-alive pool = most requests on the wire at once (default: ${SPIKE_DEFAULTS.maxInFlight})`)
    .option("--yes", "confirm a spike against a target that is not loopback")
    .option("--json", "print one JSON object (sent, accepted, rejected, failed, latencyMs, achievedPerMinute, scheduleErrorPct, ...)")
    .addHelpText("after", SPIKE_HELP)
    .action(async (flags: SpikeFlags) => {
      // Loaded on demand, as every command does: --help and the other commands never need it.
      const spike = require("../chaos/spike") as typeof import("../chaos/spike");
      const missing = (["target", "rate", "duration"] as const).find((k) => flags[k] === undefined);
      if (missing) throw new DrpError(`--${missing} is required; e.g. drp chaos spike --target http://127.0.0.1:8787 --rate 5000/min --duration 60s`, 2);
      if (flags.secret === undefined || flags.secret.trim() === "") throw new DrpError("the app secret is missing; set META_APP_SECRET (or pass --secret)", 2);
      let options: import("../chaos/spike").SpikeOptions;
      try {
        options = {
          target: flags.target!,
          ratePerMinute: spike.parseRatePerMinute(flags.rate!),
          durationMs: spike.parseDurationMs(flags.duration!),
          secret: flags.secret,
          allowRemote: flags.yes === true,
          timeoutMs: wholeNumber("--timeout-ms", flags.timeoutMs),
          maxInFlight: wholeNumber("--max-in-flight", flags.maxInFlight),
        };
        spike.checkSpikeOptions(options);
      } catch (e) {
        if (e instanceof spike.SpikeInputError) throw new DrpError(e.message, 2);
        throw e;
      }
      const { statusLine } = require("../lib/progress") as typeof import("../lib/progress");
      const { onInterrupt } = require("../lib/interrupt") as typeof import("../lib/interrupt");
      const status = statusLine(process.stderr, flags.json !== true);
      const controller = new AbortController();
      let reported: () => void = () => undefined;
      const done = new Promise<void>((r) => (reported = r));
      const unregister = onInterrupt(() => {
        controller.abort();
        return done;
      });
      try {
        const result = await spike.runSpike({
          ...options,
          signal: controller.signal,
          onProgress: (p) =>
            status(`${(p.elapsedMs / 1000).toFixed(0)}s sent ${p.sent} accepted ${p.accepted} rejected ${p.rejected} failed ${p.failed} in-flight ${p.inFlight}`),
        });
        emit(flags.json === true, result, () => spike.formatSpike(result));
        if (result.sent > 0 && result.accepted === 0) process.exitCode = 1;
      } finally {
        reported();
        unregister();
      }
    });
}
