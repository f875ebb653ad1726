import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLAN, type Adapters, type StepId } from "../../scripts/plan/steps";
import { runPlan, type Timeline } from "../../scripts/plan/runner";
import { renderPostmortem } from "../../scripts/plan/postmortem";

/** Adapters that record what the plan asked for, with switches for the failures under test. */
function recordingAdapters(opts: { smokeFails?: boolean; maintenanceSticks?: boolean } = {}) {
  const calls: string[] = [];
  let maintenance = false;
  const adapters: Adapters = {
    alerts: { waitForPage: async () => (calls.push("page"), "paged"), resolve: async () => (calls.push("resolve"), "resolved") },
    edge: {
      setMaintenance: async (on) => {
        calls.push(`maintenance ${on ? "on" : "off"}`);
        if (!(opts.maintenanceSticks && !on)) maintenance = on;
        return `maintenance ${on}`;
      },
      publicState: async () => (maintenance ? "maintenance" : "app"),
    },
    compute: { restore: async () => (calls.push("compute"), "restored"), healthy: async () => true },
    data: { recover: async () => (calls.push("recover"), "recovered"), verify: async () => "orders=1" },
    smoke: {
      run: async () => {
        calls.push("smoke");
        if (opts.smokeFails) throw new Error("health: HTTP 503");
        return "passed";
      },
    },
    postmortem: { write: async () => (calls.push("postmortem"), "pm.md") },
  };
  return { adapters, calls };
}

const newTimeline = (): Timeline => ({ kind: "drill", scenario: "test", startedAt: new Date().toISOString(), entries: [], facts: {} });

describe("the recovery plan", () => {
  it("declares the runbook's steps in the plan's order", () => {
    expect(PLAN.map((s) => s.id)).toEqual<StepId[]>(["detect", "isolate", "restore-service", "recover-data", "validate", "reopen", "postmortem"]);
  });

  it("runs every step in order and records each in the timeline file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "drp-plan-"));
    try {
      const { adapters, calls } = recordingAdapters();
      const t = newTimeline();
      const r = await runPlan({ adapters, timeline: t, path: join(dir, "timeline.json") });
      expect(r).toEqual({ ok: true });
      expect(calls).toEqual(["page", "maintenance on", "compute", "recover", "smoke", "maintenance off", "resolve", "postmortem"]);
      const saved = JSON.parse(readFileSync(join(dir, "timeline.json"), "utf8")) as Timeline;
      expect(saved.entries.map((e) => [e.step, e.status])).toEqual(PLAN.map((s) => [s.id, "ok"]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps traffic on the maintenance page when the smoke gate fails, and resumes at the failed step", async () => {
    const failing = recordingAdapters({ smokeFails: true });
    const t = newTimeline();
    expect(await runPlan({ adapters: failing.adapters, timeline: t })).toEqual({ ok: false, failed: "validate" });
    expect(failing.calls).not.toContain("maintenance off");
    expect(t.entries.at(-1)).toMatchObject({ step: "validate", status: "failed", error: "health: HTTP 503" });
    expect(await failing.adapters.edge.publicState()).toBe("maintenance");

    // Resume with the fault fixed: the passed steps are not run again.
    const fixed = recordingAdapters();
    await fixed.adapters.edge.setMaintenance(true);
    fixed.calls.length = 0;
    expect(await runPlan({ adapters: fixed.adapters, timeline: t })).toEqual({ ok: true });
    expect(fixed.calls).toEqual(["smoke", "maintenance off", "resolve", "postmortem"]);
  });

  it("never reopens without a passed smoke gate in the timeline", async () => {
    const { adapters, calls } = recordingAdapters();
    const t = newTimeline();
    const reopen = PLAN.filter((s) => s.id === "reopen");
    expect(await runPlan({ adapters, timeline: t, steps: reopen })).toEqual({ ok: false, failed: "reopen" });
    expect(t.entries[0].error).toMatch(/only after the smoke gate passed/);
    expect(calls).not.toContain("maintenance off");
  });

  it("rolls the reopen back to the maintenance page when visitors still do not reach the app", async () => {
    const { adapters, calls } = recordingAdapters({ maintenanceSticks: true });
    const t = newTimeline();
    expect(await runPlan({ adapters, timeline: t })).toEqual({ ok: false, failed: "reopen" });
    expect(calls.slice(-1)).toEqual(["maintenance on"]);
    expect(t.entries.at(-1)).toMatchObject({ step: "reopen", status: "failed", rollback: "maintenance true" });
  });

  it("writes the post-mortem with impact, the timeline and a Mermaid Gantt chart, in Spanish or English", async () => {
    const { adapters } = recordingAdapters({ smokeFails: true });
    const t = newTimeline();
    await runPlan({ adapters, timeline: t });
    t.facts.rtoSeconds = 42;
    const es = renderPostmortem(t, "es");
    expect(es).toContain("## Causa raíz");
    expect(es).toContain("| Tiempo de recuperación (RTO) | 42 s |");
    expect(es).toMatch(/```mermaid\ngantt\n/);
    expect(es).toMatch(/ {2}validate :crit, s4, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}, \d+ms/);
    expect(es).toContain("Detenido en el paso `validate`");
    const en = renderPostmortem(t, "en");
    expect(en).toContain("## Root cause");
    expect(en).toContain("Stopped at step `validate`");
  });
});
