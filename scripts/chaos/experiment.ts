/**
 * The experiment engine of `drp chaos run`: steady-state hypothesis first, then a bounded fault, probes
 * during and after it, rollback, and a journal saying whether the hypothesis held, with the evidence.
 * - A steady state that does not hold before injection stops the run: no fault is injected.
 * - The fault is always rolled back: after the probes, when a probe throws, and on Ctrl-C / SIGTERM.
 *   A local fault's rollback is synchronous, so it also runs from the exit handler (miniflare exits the
 *   process on SIGINT before asynchronous cleanups can finish); the journal is then written synchronously.
 * - The journal is written as JSON and as a short Markdown report, also when the run is interrupted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { onInterrupt } from "../lib/interrupt";

export type Phase = "before" | "during" | "after";

export interface ProbeResult {
  readonly name: string;
  readonly ok: boolean;
  /** One line a person reads: what was seen against what was expected. */
  readonly detail: string;
  /** Figures behind the verdict: status codes, latencies, counts. */
  readonly evidence: Readonly<Record<string, unknown>>;
}

export interface ProbeRecord extends ProbeResult {
  readonly phase: Phase;
  readonly at: string;
}

/** What a run injects, and how it is undone. */
export interface FaultControl {
  /** One line: what the fault is, where, for how long. */
  readonly description: string;
  inject(): Promise<Record<string, unknown> | void>;
  /** Undoes the fault; returns evidence (e.g. the cloud experiment's final state). */
  rollback(): Promise<Record<string, unknown> | void>;
  /** Synchronous rollback for the exit handler, when the fault can be undone without waiting. */
  rollbackNow?(): void;
}

export interface Experiment {
  readonly scenario: string;
  readonly mode: "local" | "cloud";
  readonly target: string;
  readonly hypothesis: string;
  readonly fault: FaultControl;
  /** Probes of each phase; "during" runs while the fault is in force, and should hold it for its window. */
  probe(phase: Phase): Promise<ProbeResult[]>;
  /** Facts about the run shown in the journal (time scale, bounds, what was not injected and why). */
  readonly notes: readonly string[];
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * Pause after injection and after rollback before probing: a switched network drops open connections,
   * and clients learn of it only on their next use (default 0).
   */
  readonly settleMs?: number;
}

export type Verdict = "held" | "deviated";

export interface Journal {
  readonly scenario: string;
  readonly mode: "local" | "cloud";
  readonly target: string;
  readonly hypothesis: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly notes: readonly string[];
  startedAt: string;
  endedAt: string | null;
  verdict: Verdict;
  /** Why the verdict is what it is, in one line. */
  reason: string;
  /** Set when the steady state did not hold before injection: nothing was injected. */
  stoppedBeforeFault: boolean;
  interrupted: string | null;
  fault: {
    description: string;
    injectedAt: string | null;
    rolledBackAt: string | null;
    evidence: Record<string, unknown>;
    error: string | null;
  };
  probes: { before: ProbeRecord[]; during: ProbeRecord[]; after: ProbeRecord[] };
  paths: { json: string; report: string };
}

export function renderReport(j: Journal): string {
  const section = (title: string, list: readonly ProbeRecord[]) =>
    [`### ${title}`, "", ...(list.length ? list.map((p) => `- ${p.ok ? "✔" : "✘"} **${p.name}**: ${p.detail}`) : ["- (not run)"]), ""];
  return [
    `# Chaos experiment ${j.scenario} (${j.mode}): hypothesis ${j.verdict.toUpperCase()}`,
    "",
    `- Target: ${j.target}`,
    `- Hypothesis: ${j.hypothesis}`,
    `- Verdict: **${j.verdict}**: ${j.reason}`,
    `- Fault: ${j.fault.description}`,
    `- Injected: ${j.fault.injectedAt ?? "never"}; rolled back: ${j.fault.rolledBackAt ?? (j.fault.injectedAt ? "NOT ROLLED BACK" : "n/a")}${j.fault.error ? ` (${j.fault.error})` : ""}`,
    `- Started ${j.startedAt}, ended ${j.endedAt ?? "—"}${j.interrupted ? `; interrupted by ${j.interrupted}` : ""}`,
    ...j.notes.map((n) => `- Note: ${n}`),
    "",
    "## Probes",
    "",
    ...section("Before (steady state)", j.probes.before),
    ...section("During the fault", j.probes.during),
    ...section("After rollback", j.probes.after),
  ].join("\n");
}

function writeJournal(j: Journal): void {
  mkdirSync(dirname(j.paths.json), { recursive: true });
  writeFileSync(j.paths.json, `${JSON.stringify(j, null, 2)}\n`);
  writeFileSync(j.paths.report, `${renderReport(j)}\n`);
}

const now = () => new Date().toISOString();
const failing = (list: readonly ProbeRecord[]) => list.filter((p) => !p.ok);

export async function runExperiment(e: Experiment, paths: { json: string; report: string }, say: (line: string) => void = () => undefined): Promise<Journal> {
  const j: Journal = {
    scenario: e.scenario,
    mode: e.mode,
    target: e.target,
    hypothesis: e.hypothesis,
    settings: e.settings,
    notes: e.notes,
    startedAt: now(),
    endedAt: null,
    verdict: "deviated",
    reason: "the run did not finish",
    stoppedBeforeFault: false,
    interrupted: null,
    fault: { description: e.fault.description, injectedAt: null, rolledBackAt: null, evidence: {}, error: null },
    probes: { before: [], during: [], after: [] },
    paths,
  };
  let finished = false;
  const probe = async (phase: Phase) => {
    say(`probes ${phase}`);
    let results: ProbeResult[];
    try {
      results = await e.probe(phase);
    } catch (err) {
      results = [{ name: `${phase} probes`, ok: false, detail: `could not run: ${(err as Error).message}`, evidence: {} }];
    }
    const records = results.map((r) => ({ ...r, phase, at: now() }));
    j.probes[phase].push(...records);
    for (const r of records) say(`  ${r.ok ? "✔" : "✘"} ${r.name}: ${r.detail}`);
    return records;
  };
  const rollback = async () => {
    if (!j.fault.injectedAt || j.fault.rolledBackAt) return;
    say("rollback");
    try {
      Object.assign(j.fault.evidence, (await e.fault.rollback()) ?? {});
      j.fault.rolledBackAt = now();
    } catch (err) {
      j.fault.error = `rollback failed: ${(err as Error).message}`;
    }
  };
  const interrupted = (signal: string) => {
    if (finished) return;
    j.interrupted ??= signal;
    j.verdict = "deviated";
    j.reason = `interrupted by ${signal}; the fault was rolled back`;
    j.endedAt = now();
  };
  // Exit path (miniflare's SIGINT handler exits at once): synchronous rollback and journal.
  const onExit = () => {
    if (finished) return;
    if (j.fault.injectedAt && !j.fault.rolledBackAt && e.fault.rollbackNow) {
      e.fault.rollbackNow();
      j.fault.rolledBackAt = now();
    }
    interrupted(j.interrupted ?? "exit");
    if (!j.fault.rolledBackAt && j.fault.injectedAt) j.reason = `interrupted; the fault could NOT be rolled back`;
    writeJournal(j);
  };
  const signals: Record<string, () => void> = {};
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    signals[s] = () => {
      j.interrupted ??= s;
    };
    process.prependListener(s, signals[s]);
  }
  process.once("exit", onExit);
  const unregister = onInterrupt(async () => {
    await rollback();
    interrupted(j.interrupted ?? "signal");
    if (j.fault.error) j.reason = `interrupted; ${j.fault.error}`;
    writeJournal(j);
    finished = true;
  });
  try {
    const before = await probe("before");
    if (failing(before).length > 0) {
      j.stoppedBeforeFault = true;
      j.reason = `steady state did not hold before injection (${failing(before).map((p) => p.name).join(", ")}): no fault injected`;
      return j;
    }
    say(`inject: ${e.fault.description}`);
    try {
      // Set before the call, so an interruption while it is under way still rolls back.
      j.fault.injectedAt = now();
      Object.assign(j.fault.evidence, (await e.fault.inject()) ?? {});
    } catch (err) {
      // Nothing was injected; undo any part that was, without recording a rollback of a fault that never was.
      await Promise.resolve()
        .then(() => e.fault.rollback())
        .catch(() => undefined);
      j.fault.injectedAt = null;
      j.fault.error = `could not inject: ${(err as Error).message}`;
      j.reason = j.fault.error;
      return j;
    }
    const settle = () => new Promise((r) => setTimeout(r, e.settleMs ?? 0));
    try {
      await settle();
      await probe("during");
    } finally {
      await rollback();
    }
    await settle();
    await probe("after");
    const bad = [...failing(j.probes.during), ...failing(j.probes.after)];
    if (j.fault.error) j.reason = j.fault.error;
    else if (bad.length > 0) j.reason = `deviated: ${bad.map((p) => `${p.phase} ${p.name}`).join(", ")}`;
    else {
      j.verdict = "held";
      j.reason = "every probe held before, during and after the fault";
    }
    return j;
  } finally {
    if (!finished) {
      j.endedAt = now();
      writeJournal(j);
      finished = true;
    }
    unregister();
    process.off("exit", onExit);
    for (const [s, f] of Object.entries(signals)) process.off(s, f);
  }
}
