/**
 * `drp chaos run <scenario>`: one of the plan's four scenarios as an experiment (scripts/chaos/experiment.ts).
 * Locally it starts the drill environment (scripts/chaos/local.ts) and injects the fault in the proxy in
 * front of the stand-in dependency; with --cloud it starts the scenario's FIS experiment and probes
 * --target. Options are checked before anything starts: bad input is one DrpError (exit 2), nothing injected.
 */
import { join, resolve } from "node:path";
import { isScenario, SCENARIOS, type Scenario } from "../../constructs/chaos-experiments/scenarios";
import { DrpError } from "../lib/cli";
import { runExperiment, type Experiment, type Journal } from "./experiment";
import { BROKEN_STAND_INS, type BrokenStandIn, type ChaosEnvironment, type ChaosEnvironmentOptions } from "./local";
import { CHAOS_PRODUCTION, CLOUD_WEBHOOK_SCENARIOS, SCENARIO_DEFINITIONS, TIME_SCALE_RANGE, scaledFigures, targetProbes, type ScaledFigures } from "./scenarios";

export const CHAOS_JOURNAL_DIR = "chaos-journal";
/** Locally, the pause after each switch of a fault proxy before the next probes (see Experiment.settleMs). */
export const LOCAL_SETTLE_MS = 250;
export const POLL_MS_RANGE = { min: 50, max: 60_000, default: 10_000 } as const;

export interface ChaosRunFlags {
  readonly target?: string;
  readonly cloud?: boolean;
  readonly timeScale?: string;
  readonly journal?: string;
  readonly breakStandIn?: string;
  readonly pollMs?: string;
  readonly secret?: string;
}

export interface ChaosRunOptions {
  readonly scenario: Scenario;
  readonly cloud: boolean;
  readonly target: string | null;
  readonly timeScale: number;
  readonly journalDir: string;
  readonly broken: BrokenStandIn | undefined;
  readonly pollMs: number;
  /** Meta app secret for the cloud webhook probes. */
  readonly appSecret: string | undefined;
}

function number(flag: string, raw: string, range: { min: number; max: number }): number {
  const n = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(n >= range.min && n <= range.max)) throw new DrpError(`${flag} "${raw}" is not valid; use a number from ${range.min} to ${range.max}`, 2);
  return n;
}

/** Validates the command line; throws DrpError(…, 2) naming the fix. */
export function chaosRunOptions(scenario: string, flags: ChaosRunFlags): ChaosRunOptions {
  if (!isScenario(scenario)) throw new DrpError(`unknown scenario "${scenario}"; use one of ${SCENARIOS.join(", ")}`, 2);
  let target: string | null = null;
  if (flags.target !== undefined) {
    let u: URL;
    try {
      u = new URL(flags.target);
    } catch {
      throw new DrpError(`--target "${flags.target}" is not a URL; use the public URL, e.g. https://staging.livestreamsell.ai`, 2);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new DrpError(`--target "${flags.target}" must be an http(s) URL`, 2);
    target = u.origin;
  }
  const cloud = flags.cloud === true;
  if (cloud && !target) throw new DrpError("--cloud needs --target URL: the public URL the steady-state probes check while the FIS experiment runs", 2);
  if (!cloud && target)
    throw new DrpError(
      "locally the fault is injected only in the drill environment the runner starts; to experiment on an environment at --target, add --cloud (its FIS experiment injects the fault)",
      2,
    );
  let broken: BrokenStandIn | undefined;
  if (flags.breakStandIn !== undefined) {
    if (cloud) throw new DrpError("--break-stand-in applies to the local drill environment only; drop it with --cloud", 2);
    if (!(BROKEN_STAND_INS as readonly string[]).includes(flags.breakStandIn)) throw new DrpError(`--break-stand-in "${flags.breakStandIn}" is unknown; use one of ${BROKEN_STAND_INS.join(", ")}`, 2);
    broken = flags.breakStandIn as BrokenStandIn;
  }
  const appSecret = flags.secret?.trim() ? flags.secret : undefined;
  if (cloud && !appSecret && CLOUD_WEBHOOK_SCENARIOS.includes(scenario))
    throw new DrpError(`--cloud ${scenario} probes the webhook path with signed deliveries: set META_APP_SECRET (or pass --secret)`, 2);
  if (cloud && flags.timeScale !== undefined) throw new DrpError("--time-scale applies to local runs only; the FIS experiment runs in real time: drop it with --cloud", 2);
  return {
    scenario,
    cloud,
    target,
    timeScale: flags.timeScale === undefined ? 1 : number("--time-scale", flags.timeScale, TIME_SCALE_RANGE),
    journalDir: flags.journal ?? CHAOS_JOURNAL_DIR,
    broken,
    pollMs: flags.pollMs === undefined ? POLL_MS_RANGE.default : number("--poll-ms", flags.pollMs, POLL_MS_RANGE),
    appSecret: cloud ? appSecret : undefined,
  };
}

export function journalPaths(dir: string, scenario: Scenario, at = new Date()): { json: string; report: string } {
  const stem = join(resolve(dir), `${scenario}-${at.toISOString().replace(/[:.]/g, "-")}`);
  return { json: `${stem}.json`, report: `${stem}.md` };
}

export async function runChaos(o: ChaosRunOptions, say: (line: string) => void = () => undefined): Promise<Journal> {
  const def = SCENARIO_DEFINITIONS[o.scenario];
  const paths = journalPaths(o.journalDir, o.scenario);
  if (o.cloud) {
    const cloud = require("./cloud") as typeof import("./cloud");
    const fis = cloud.createFisClient();
    const template = await cloud.findTemplate(fis, o.scenario);
    const fault = cloud.cloudFault(fis, o.scenario, template, o.pollMs);
    const probe = () => targetProbes(o.target!, o.appSecret);
    const experiment: Experiment = {
      scenario: o.scenario,
      mode: "cloud",
      target: o.target!,
      hypothesis: def.hypothesis,
      fault,
      probe: (phase) => (phase === "during" ? fault.follow(probe) : probe()),
      notes: [
        `in the cloud: ${def.cloudFault}`,
        `the probes check the public health and the product list latency at --target${o.appSecret ? ", and send signed webhook deliveries there" : ""}; the FIS stop conditions watch the rest`,
      ],
      settings: { templateId: template.id, pollMs: o.pollMs, unrelatedBoundMs: CHAOS_PRODUCTION.unrelatedBoundMs },
    };
    return runExperiment(experiment, paths, say);
  }
  const f = scaledFigures(o.timeScale);
  const { startChaosEnvironment } = require("./local") as typeof import("./local");
  const env = await startChaosEnvironment(localEnvironmentOptions(f, o.broken ? [o.broken] : []), say);
  // PostgreSQL and workerd also stop themselves on exit; the proxies and stand-ins die with the process.
  try {
    return await runLocalScenario(env, o.scenario, f, paths, say);
  } finally {
    env.rollbackAllNow();
    await env.stop();
  }
}

export function localEnvironmentOptions(f: ScaledFigures, broken: readonly BrokenStandIn[]): ChaosEnvironmentOptions {
  return { aiTimeoutMs: f.aiTimeoutMs, paymentTimeoutMs: f.paymentTimeoutMs, replayRetryDelaySeconds: CHAOS_PRODUCTION.localReplayRetryDelaySeconds, broken };
}

/** One scenario on a running drill environment (several scenarios can run one after another on one environment). */
export function runLocalScenario(env: ChaosEnvironment, scenario: Scenario, f: ScaledFigures, paths: { json: string; report: string }, say: (line: string) => void = () => undefined): Promise<Journal> {
  const def = SCENARIO_DEFINITIONS[scenario];
  const local = def.local(env, f);
  const experiment: Experiment = {
    scenario,
    mode: "local",
    target: env.edgeUrl,
    hypothesis: def.hypothesis,
    fault: local.fault,
    probe: local.probe,
    settleMs: LOCAL_SETTLE_MS,
    notes: [...local.notes, ...env.broken.map((b) => `deliberately broken stand-in: ${b}`)],
    settings: {
      ...f,
      brokenStandIns: env.broken,
      proxies: { ai: env.proxies.ai.url, payment: env.proxies.payment.url, origin: env.proxies.origin.url },
      cloudFault: def.cloudFault,
    },
  };
  return runExperiment(experiment, paths, say);
}
