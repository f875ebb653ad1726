/**
 * The recovery plan, declared once: the runbook's steps in order, each with its precondition, action,
 * check and rollback, written against the Adapters interface only. `drp drill` runs these very
 * definitions with local adapters (scripts/drill), so a drill tests the runbook's logic, not a copy of it.
 */

/** What a step may act on. Each backend (local drill, clouds) provides all of them. */
export interface Adapters {
  readonly alerts: {
    /** Waits until detection has paged (health check failing for longer than the threshold); returns what was sent. */
    waitForPage(): Promise<string>;
    /** Resolves the incident once the public endpoint is healthy again; returns what was sent. */
    resolve(): Promise<string>;
  };
  readonly edge: {
    /** Forces the maintenance page on or off (cdktf deploy edge -c maintenance=on|off). */
    setMaintenance(on: boolean): Promise<string>;
    /** What a visitor sees now: the maintenance page or the app. */
    publicState(): Promise<"maintenance" | "app">;
  };
  readonly compute: {
    /** Brings the service up where it must run (the standby region) and sends the pools there. */
    restore(): Promise<string>;
    /** Whether the restored service answers its health check (directly, not through the edge). */
    healthy(): Promise<boolean>;
  };
  readonly data: {
    /** Recovers the database (point in time, or the weekly export); returns what was recovered. */
    recover(): Promise<string>;
    /** Checks the recovered database (critical tables readable and counted); returns the counts. */
    verify(): Promise<string>;
  };
  readonly smoke: {
    /** The smoke gate through the Worker's bypass; resolves with a summary, rejects with why it failed. */
    run(): Promise<string>;
  };
  readonly postmortem: {
    /** Writes the incident document from the timeline so far; returns its path. */
    write(timeline: readonly TimelineEntry[]): Promise<string>;
  };
}

export type StepId = "detect" | "isolate" | "restore-service" | "recover-data" | "validate" | "reopen" | "postmortem";

export interface StepContext {
  readonly adapters: Adapters;
  readonly timeline: readonly TimelineEntry[];
}

export interface Step {
  readonly id: StepId;
  readonly title: { readonly en: string; readonly es: string };
  /** Throws (with the reason) when the step must not run yet. */
  precondition?(ctx: StepContext): Promise<void>;
  /** Does the work; returns a one-line detail for the timeline. */
  action(ctx: StepContext): Promise<string>;
  /** Throws (with the reason) when the action did not have its effect. */
  check(ctx: StepContext): Promise<void>;
  /** Puts things back the safe way when the step failed (traffic stays on the maintenance page). */
  rollback?(ctx: StepContext): Promise<string>;
}

export interface TimelineEntry {
  readonly step: StepId;
  readonly status: "ok" | "failed" | "skipped";
  readonly startedAt: string;
  readonly endedAt: string;
  readonly detail: string;
  readonly error?: string;
  readonly rollback?: string;
}

const must = (ok: boolean, why: string) => {
  if (!ok) throw new Error(why);
};

export const PLAN: readonly Step[] = [
  {
    id: "detect",
    title: { en: "Detection: page PagerDuty and Slack after the unhealthy threshold", es: "Detección: avisar a PagerDuty y Slack tras el umbral" },
    action: ({ adapters }) => adapters.alerts.waitForPage(),
    async check() {
      // waitForPage only returns once the page was delivered.
    },
  },
  {
    id: "isolate",
    title: { en: "Isolation: maintenance page on", es: "Aislamiento: página de mantenimiento" },
    action: ({ adapters }) => adapters.edge.setMaintenance(true),
    async check({ adapters }) {
      must((await adapters.edge.publicState()) === "maintenance", "visitors still reach the app: the maintenance page is not up");
    },
  },
  {
    id: "restore-service",
    title: { en: "Service restore: the standby region serves", es: "Restauración del servicio: la región secundaria sirve" },
    async precondition({ adapters }) {
      must((await adapters.edge.publicState()) === "maintenance", "the maintenance page must be up before the service moves");
    },
    action: ({ adapters }) => adapters.compute.restore(),
    async check({ adapters }) {
      must(await adapters.compute.healthy(), "the restored service does not answer its health check");
    },
  },
  {
    id: "recover-data",
    title: { en: "Data recovery", es: "Recuperación de datos" },
    async precondition({ adapters }) {
      must((await adapters.edge.publicState()) === "maintenance", "data is recovered only while the maintenance page is up");
    },
    action: ({ adapters }) => adapters.data.recover(),
    async check({ adapters }) {
      await adapters.data.verify();
    },
  },
  {
    id: "validate",
    title: { en: "Validation: smoke gate through the bypass", es: "Validación: pruebas de humo por el bypass" },
    action: ({ adapters }) => adapters.smoke.run(),
    async check() {
      // run() rejects when any check fails.
    },
  },
  {
    id: "reopen",
    title: { en: "Reopen traffic", es: "Reabrir el tráfico" },
    async precondition({ timeline }) {
      const gate = [...timeline].reverse().find((e) => e.step === "validate");
      must(gate?.status === "ok", "traffic reopens only after the smoke gate passed");
    },
    async action({ adapters }) {
      const off = await adapters.edge.setMaintenance(false);
      const resolved = await adapters.alerts.resolve();
      return `${off}; ${resolved}`;
    },
    async check({ adapters }) {
      must((await adapters.edge.publicState()) === "app", "visitors still see the maintenance page");
    },
    rollback: ({ adapters }) => adapters.edge.setMaintenance(true),
  },
  {
    id: "postmortem",
    title: { en: "Post-mortem document", es: "Documento post-mortem" },
    action: ({ adapters, timeline }) => adapters.postmortem.write(timeline),
    async check() {
      // write() returns only once the file is written.
    },
  },
];
