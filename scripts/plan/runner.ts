/**
 * Runs the plan's steps in order against one set of adapters, writing every step to a timeline (JSON, one
 * file, rewritten after each step so an interrupted run leaves a readable record). A failed precondition,
 * action or check stops the run after the step's rollback; `resumeFrom` continues a timeline at its first
 * step that did not pass.
 */
import { writeFileSync } from "node:fs";
import { DrpError } from "../lib/cli";
import { PLAN, type Adapters, type Step, type StepId, type TimelineEntry } from "./steps";

export interface Timeline {
  readonly kind: "drill" | "failover";
  readonly scenario: string;
  readonly startedAt: string;
  /** When the incident began (the disaster), if known: the start of the recovery time. */
  readonly incidentAt?: string;
  readonly entries: TimelineEntry[];
  /** Facts the post-mortem reports (RPO, data loss, alerts), filled in by the backend. */
  readonly facts: Record<string, unknown>;
}

export interface RunOptions {
  readonly adapters: Adapters;
  readonly timeline: Timeline;
  /** File the timeline is written to after every step. */
  readonly path?: string;
  readonly steps?: readonly Step[];
  readonly onStep?: (entry: TimelineEntry | { step: StepId; status: "running" }) => void;
  readonly now?: () => Date;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Steps already passed in this timeline: a resumed run skips them. */
export function passedSteps(t: Timeline): Set<StepId> {
  return new Set(t.entries.filter((e) => e.status === "ok").map((e) => e.step));
}

export async function runPlan(o: RunOptions): Promise<{ ok: boolean; failed?: StepId }> {
  const now = o.now ?? (() => new Date());
  const save = () => {
    if (o.path) writeFileSync(o.path, `${JSON.stringify(o.timeline, null, 2)}\n`);
  };
  const done = passedSteps(o.timeline);
  for (const step of o.steps ?? PLAN) {
    if (done.has(step.id)) continue;
    o.onStep?.({ step: step.id, status: "running" });
    const startedAt = now().toISOString();
    const ctx = { adapters: o.adapters, timeline: o.timeline.entries };
    let detail = "";
    try {
      await step.precondition?.(ctx);
      detail = await step.action(ctx);
      await step.check(ctx);
    } catch (e) {
      let rollback: string | undefined;
      if (step.rollback) rollback = await step.rollback(ctx).catch((r) => `rollback failed: ${message(r)}`);
      const entry: TimelineEntry = { step: step.id, status: "failed", startedAt, endedAt: now().toISOString(), detail, error: message(e), ...(rollback ? { rollback } : {}) };
      o.timeline.entries.push(entry);
      save();
      o.onStep?.(entry);
      return { ok: false, failed: step.id };
    }
    const entry: TimelineEntry = { step: step.id, status: "ok", startedAt, endedAt: now().toISOString(), detail };
    o.timeline.entries.push(entry);
    save();
    o.onStep?.(entry);
  }
  return { ok: true };
}

/** A timeline file read back (drp postmortem, drp failover --resume), validated where it enters. */
export function parseTimeline(text: string, path: string): Timeline {
  let t: Partial<Timeline>;
  try {
    t = JSON.parse(text) as Partial<Timeline>;
  } catch (e) {
    throw new DrpError(`${path} is not JSON (${(e as Error).message}); pass the timeline.json a drill or failover wrote`, 2);
  }
  const ok =
    (t.kind === "drill" || t.kind === "failover") &&
    typeof t.scenario === "string" &&
    typeof t.startedAt === "string" &&
    Array.isArray(t.entries) &&
    t.entries.every((e) => typeof e?.step === "string" && ["ok", "failed", "skipped"].includes(e.status) && !Number.isNaN(Date.parse(e.startedAt)) && !Number.isNaN(Date.parse(e.endedAt)));
  if (!ok) throw new DrpError(`${path} is not a drp timeline (kind, scenario, startedAt and entries with step, status, startedAt, endedAt); pass the timeline.json a drill or failover wrote`, 2);
  return { facts: {}, ...t } as Timeline;
}

