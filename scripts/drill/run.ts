/**
 * `drp drill`: the whole recovery plan rehearsed on this machine with real servers, measuring recovery
 * time and data loss. It starts the stand-ins (PostgreSQL archiving its WAL, moto S3 with the DR bucket,
 * two storefront origins behind a load balancer, the production Worker in workerd, an alert sink), seeds
 * orders and audit logs, takes the weekly export, keeps placing orders and sending signed comment webhooks,
 * then causes the disaster (the primary origin dies, a bad statement deletes every order) and runs the
 * plan's own steps (scripts/plan/steps.ts) with local adapters. Everything it started is stopped and every
 * temporary directory removed, also on failure and Ctrl-C.
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "pg";
import { BUFFERED_HEADER, MAINTENANCE_HEADER, SIGNATURE_HEADER } from "../../constructs/maintenance-page/bindings";
import { DrpError } from "../lib/cli";
import { onInterrupt } from "../lib/interrupt";
import { pgToolPath } from "../lib/pg-tools";
import { PLAN, type Adapters, type TimelineEntry } from "../plan/steps";
import { runPlan, type Timeline } from "../plan/runner";
import { renderPostmortem, type Lang } from "../plan/postmortem";
import { startAlertSink } from "./alert-sink";
import { startDatabaseEndpoint, startLoadBalancer } from "./network";
import { recoverToTime, startPostgres, type PgServer } from "./postgres";
import { STOREFRONT_SCHEMA, startStorefront, type Storefront } from "./storefront";
import { metaSignature } from "../chaos/meta-comments";

export const SCENARIOS = ["pitr", "provider-loss"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Production waits, scaled down by --time-scale: detection after this many minutes unhealthy, health checked every 30 s. */
export const PRODUCTION_UNHEALTHY_MINUTES = 5;
const PRODUCTION_HEALTH_INTERVAL_S = 30;
const DATABASE = "shop";
const CRITICAL_TABLES = ["orders", "order_states", "audit_logs"] as const;
const SEED_ORDERS = 200;
const DR_BUCKET = "livestreamsell-dr-drill";

export interface DrillOptions {
  readonly scenario: Scenario;
  /** Production waits are divided by this (default 100: 5 minutes of detection become 3 s). */
  readonly timeScale: number;
  /** Directory for the timeline and post-mortem (created). */
  readonly outDir: string;
  readonly lang?: Lang;
  readonly onProgress?: (line: string) => void;
  /**
   * --keep: called with the report while everything still runs (the edge, the alert sink, the database);
   * the environment is stopped once the returned promise settles.
   */
  readonly keep?: (report: DrillReport, urls: { edge: string; alerts: string; database: string }) => Promise<void>;
}

export interface DrillReport {
  readonly scenario: Scenario;
  readonly ok: boolean;
  readonly failedStep: string | null;
  readonly timeScale: number;
  readonly scaled: { readonly unhealthyThresholdSeconds: number; readonly productionUnhealthyMinutes: number; readonly healthIntervalSeconds: number };
  readonly rtoSeconds: number | null;
  readonly rpo: { readonly ordersLost: number; readonly commentsLost: number; readonly seconds: number };
  readonly traffic: { readonly ordersAcknowledged: number; readonly commentsAccepted: number; readonly commentsBuffered: number; readonly commentsReplayed: number };
  readonly steps: { readonly name: string; readonly ok: boolean; readonly startedAt: string; readonly seconds: number; readonly detail: string; readonly error?: string }[];
  readonly alerts: { readonly service: string; readonly action: string; readonly at: string }[];
  readonly timeline: string;
  readonly postmortem: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secondsBetween = (a: number, b: number) => Math.round((b - a) / 10) / 100;

/** Checks what the drill needs before starting anything: one line naming the cause and the fix. */
export function preflight(): void {
  // A temporary directory drp cannot write is refused by bin/drp.cjs before anything loads.
  if (process.getuid?.() === 0) {
    const dir = process.env.TMPDIR || "/tmp";
    const reach = spawnSync("runuser", ["-u", "postgres", "--", "test", "-x", dir], { encoding: "utf8" });
    if (reach.status !== 0) throw new DrpError(`PostgreSQL runs as the postgres user, who cannot reach the temporary directory ${dir}; chmod 755 it or set TMPDIR to one it can reach (e.g. /tmp)`, 1);
  }
  for (const tool of ["initdb", "pg_ctl", "pg_basebackup", "pg_dump", "pg_restore"] as const) pgToolPath(tool);
  const moto = spawnSync("python3", ["-c", "import moto.server"], { encoding: "utf8" });
  if (moto.status !== 0) throw new DrpError("python3 with moto's server is required for the local S3 bucket: apt-get install python3-pip && pip install 'moto[server]'", 1);
}

/** A Meta comment webhook delivery (feed change), as Meta signs it. */
export function commentDelivery(id: string, secret: string): { body: string; signature: string } {
  const body = JSON.stringify({
    object: "page",
    entry: [{ id: "page-1", time: Math.floor(Date.now() / 1000), changes: [{ field: "feed", value: { item: "comment", verb: "add", comment_id: id, post_id: "live-1", message: `quiero ${id}`, from: { id: `u-${id}` } } }] }],
  });
  return { body, signature: metaSignature(body, secret) };
}

export async function runDrill(o: DrillOptions): Promise<DrillReport> {
  preflight();
  const say = o.onProgress ?? (() => undefined);
  const scale = o.timeScale;
  const thresholdMs = (PRODUCTION_UNHEALTHY_MINUTES * 60_000) / scale;
  const intervalMs = Math.max(100, (PRODUCTION_HEALTH_INTERVAL_S * 1000) / scale);
  mkdirSync(o.outDir, { recursive: true });
  const timelinePath = resolve(o.outDir, "timeline.json");
  const stops: (() => Promise<unknown>)[] = [];
  // Everything stops at once (nothing waits on another), so an interrupt's cleanup deadline is never the limit.
  const stopAll = async () => {
    const all = stops.splice(0, stops.length);
    await Promise.allSettled(all.map((s) => s()));
  };
  const unregister = onInterrupt(stopAll);
  const scratch = mkdtempSync(join(tmpdir(), "drp-drill-"));
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  process.once("exit", removeScratch);
  const appSecret = randomBytes(16).toString("hex");
  const bypassToken = randomBytes(32).toString("hex");
  try {
    // ---- the environment -------------------------------------------------------------------------
    say("starting PostgreSQL (WAL archiving), moto S3, alert sink, storefront, load balancer, Worker");
    const primaryDb = await startPostgres({ archive: true });
    stops.push(() => primaryDb.stop());
    let currentDb: PgServer = primaryDb;
    await primaryDb.createDatabase(DATABASE);
    await primaryDb.sql(DATABASE, STOREFRONT_SCHEMA);
    const endpoint = await startDatabaseEndpoint(primaryDb.port);
    stops.push(() => endpoint.stop());
    const { startMoto } = (require("./moto") as typeof import("./moto"));
    const moto = await startMoto();
    stops.push(() => moto.stop());
    await moto.createBucket(DR_BUCKET);
    const sink = await startAlertSink();
    stops.push(() => sink.stop());
    const primary = await startStorefront({ name: "primary", databaseUrl: endpoint.urlFor(DATABASE), appSecret });
    stops.push(() => primary.stop());
    let secondary: Storefront | undefined;
    const { startSwitchableEdge } = (require("../lib/workerd") as typeof import("../lib/workerd"));
    let edgeInMaintenance = () => false;
    const lb = await startLoadBalancer([{ name: "primary", url: primary.url }], "/healthz", intervalMs, () => edgeInMaintenance());
    stops.push(() => lb.stop());
    const edge = await startSwitchableEdge({
      originUrl: lb.url,
      appSecret,
      bypassToken,
      extra: { ORIGIN_TIMEOUT_MS: "3000", REPLAY_RETRY_DELAY_SECONDS: "1", REPLAY_MAX_DELAY_SECONDS: "2" },
    });
    stops.push(() => edge.dispose());
    edgeInMaintenance = () => edge.maintenance;

    // ---- seed, weekly export ---------------------------------------------------------------------
    await primaryDb.sql(
      DATABASE,
      `INSERT INTO orders (ref, sku, qty, created_at) SELECT 'seed-' || g, 'LIVE-001', 1, now() - interval '1 day' FROM generate_series(1, ${SEED_ORDERS}) g;
       INSERT INTO order_states (order_ref, state) SELECT ref, 'paid' FROM orders;
       INSERT INTO audit_logs (action, detail) SELECT 'order.seeded', ref FROM orders;`,
    );
    const { exportDatabase } = (require("../data/export") as typeof import("../data/export"));
    const { connectionFromUrl } = (require("../data/connection") as typeof import("../data/connection"));
    say("weekly export to the DR bucket");
    const exportAt = Date.now();
    const exported = await exportDatabase({ s3: moto.s3, bucket: DR_BUCKET, prefix: "exports/", criticalTables: [...CRITICAL_TABLES], db: connectionFromUrl(primaryDb.urlFor(DATABASE)) });
    const backup = o.scenario === "pitr" ? await primaryDb.baseBackup() : undefined;
    // The plan's own code, as the workflow on main backs it up (when this is a git checkout).
    const { backupCode, restoreCode } = require("../backups/code-bundle") as typeof import("../backups/code-bundle");
    const repoRoot = join(__dirname, "..", "..");
    const codeBacked = existsSync(join(repoRoot, ".git")) ? await backupCode({ s3: moto.s3, bucket: DR_BUCKET, repo: repoRoot }) : undefined;

    // ---- traffic through the Worker, throughout ----------------------------------------------------
    const acked = new Map<string, number>(); // order ref -> time acknowledged
    const accepted = new Set<string>(); // comment ids Meta was told 200
    const buffered = new Set<string>();
    const pendingAtMeta: string[] = []; // deliveries Meta will retry (non-2xx)
    let trafficOn = true;
    let orderSeq = 0;
    let commentSeq = 0;
    const placeOrder = async () => {
      const ref = `o-${++orderSeq}`;
      try {
        const r = await fetch(`${edge.url}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ref, sku: "LIVE-002", qty: 1 }) });
        if (r.status === 201) acked.set(ref, Date.now());
        await r.body?.cancel();
      } catch {
        // a customer who got no answer retries later; not an acknowledged order
      }
    };
    const sendComment = async (id: string) => {
      const d = commentDelivery(id, appSecret);
      try {
        const r = await fetch(`${edge.url}/webhooks/meta`, { method: "POST", headers: { "content-type": "application/json", [SIGNATURE_HEADER]: d.signature }, body: d.body });
        if (r.status === 200) {
          accepted.add(id);
          if (r.headers.has(BUFFERED_HEADER)) buffered.add(id);
        } else pendingAtMeta.push(id);
        await r.body?.cancel();
      } catch {
        pendingAtMeta.push(id);
      }
    };
    const traffic = (async () => {
      while (trafficOn) {
        const retry = pendingAtMeta.splice(0, pendingAtMeta.length);
        await Promise.all([placeOrder(), sendComment(`c-${++commentSeq}`), ...retry.map(sendComment)]);
        await sleep(40);
      }
    })();
    await sleep(1500); // a little business as usual before the disaster

    // ---- detection runs as production's health check does ------------------------------------------
    let unhealthySince: number | null = null;
    let paged: (v: string) => void = () => undefined;
    const pagedPromise = new Promise<string>((r) => (paged = r));
    let pageSent = false;
    const dedupKey = `drill-${Date.now()}`;
    const sendAlert = async (action: "trigger" | "resolve", summary: string) => {
      const pd = await fetch(sink.pagerdutyUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ routing_key: "drill", event_action: action, dedup_key: dedupKey, payload: { summary, source: edge.url, severity: "critical" } }),
      });
      const sl = await fetch(sink.slackUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: `${action === "trigger" ? ":red_circle:" : ":large_green_circle:"} ${summary}` }) });
      if (pd.status !== 202 || sl.status !== 200) throw new Error(`the alert sink refused the ${action} (PagerDuty ${pd.status}, Slack ${sl.status})`);
    };
    const detector = setInterval(async () => {
      let ok = false;
      try {
        const r = await fetch(`${edge.url}/healthz`, { signal: AbortSignal.timeout(intervalMs * 3) });
        ok = r.ok;
        await r.body?.cancel();
      } catch {
        ok = false;
      }
      if (ok) unhealthySince = null;
      else unhealthySince ??= Date.now();
      if (!pageSent && unhealthySince !== null && Date.now() - unhealthySince > thresholdMs) {
        pageSent = true;
        const summary = `public health check failing for more than ${PRODUCTION_UNHEALTHY_MINUTES} min (scaled 1/${scale})`;
        sendAlert("trigger", summary).then(() => paged(summary), (e) => paged(`page failed: ${(e as Error).message}`));
      }
    }, intervalMs);
    stops.push(async () => clearInterval(detector));

    // ---- the disaster ---------------------------------------------------------------------------
    say("disaster: the primary origin dies and a bad statement deletes every order");
    const incidentAt = Date.now();
    await primary.stop();
    await sleep(150); // requests in flight to the primary finish (or fail)
    const recoveryTarget = new Date();
    await sleep(20);
    const badAt = Date.now();
    await primaryDb.sql(DATABASE, "DELETE FROM order_states; DELETE FROM orders;");

    // ---- local adapters of the plan ---------------------------------------------------------------
    const publicState = async (): Promise<"maintenance" | "app"> => {
      const r = await fetch(`${edge.url}/`);
      await r.body?.cancel();
      return r.headers.get(MAINTENANCE_HEADER) === "1" ? "maintenance" : "app";
    };
    const count = async (table: string) => {
      const c = new Client({ connectionString: endpoint.urlFor(DATABASE) });
      await c.connect();
      try {
        return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      } finally {
        await c.end();
      }
    };
    const timeline: Timeline = { kind: "drill", scenario: o.scenario, startedAt: new Date(incidentAt).toISOString(), incidentAt: new Date(incidentAt).toISOString(), entries: [], facts: {} };
    const adapters: Adapters = {
      alerts: {
        waitForPage: () => pagedPromise,
        async resolve() {
          const deadline = Date.now() + 10_000;
          while (unhealthySince !== null || !pageSent) {
            if (Date.now() > deadline) throw new Error("the public health check did not recover within 10 s");
            await sleep(intervalMs);
          }
          await sendAlert("resolve", "public health check healthy again");
          return "PagerDuty and Slack resolved";
        },
      },
      edge: {
        async setMaintenance(on) {
          edge.setMaintenance(on);
          return `edge deployed with MAINTENANCE=${on ? "on" : "off"}`;
        },
        publicState,
      },
      compute: {
        async restore() {
          // GitHub may be down too: the deploy runs from the code kept in the DR bucket.
          let code = "no git checkout to back up: code bundle skipped";
          if (codeBacked) {
            const to = join(scratch, "code");
            const got = await restoreCode({ s3: moto.s3, bucket: DR_BUCKET, to });
            code = `code ${got.manifest.commit.slice(0, 12)} restored from s3://${DR_BUCKET}/${got.dir} and verified`;
          }
          secondary = await startStorefront({ name: "secondary", databaseUrl: endpoint.urlFor(DATABASE), appSecret });
          stops.push(() => secondary!.stop());
          lb.setPools([
            { name: "secondary", url: secondary.url },
            { name: "primary", url: primary.url },
          ]);
          await lb.probe();
          return `${code}; secondary origin ${secondary.url} up; pools: secondary, primary`;
        },
        async healthy() {
          if (!secondary) return false;
          const r = await fetch(`${secondary.url}/healthz`);
          await r.body?.cancel();
          return r.ok;
        },
      },
      data: {
        async recover() {
          endpoint.pointAt(null); // the project is down while it restores
          if (o.scenario === "pitr") {
            await primaryDb.archiveCurrentWal();
            currentDb = await recoverToTime(backup!, primaryDb.archiveDir!, recoveryTarget);
            stops.push(() => currentDb.stop());
            endpoint.pointAt(currentDb.port);
            return `point-in-time recovery to ${recoveryTarget.toISOString()} from the base backup and the WAL archive`;
          }
          const fresh = await startPostgres();
          stops.push(() => fresh.stop());
          const url = await fresh.createDatabase(DATABASE);
          const { restoreExport } = (require("../data/restore") as typeof import("../data/restore"));
          await restoreExport({ s3: moto.s3, uri: exported.manifestUri, target: connectionFromUrl(url) });
          currentDb = fresh;
          endpoint.pointAt(fresh.port);
          return `weekly export ${exported.manifestUri} restored into a new database`;
        },
        async verify() {
          const counts = await Promise.all(CRITICAL_TABLES.map(async (t) => `${t}=${await count(t)}`));
          if ((await count("orders")) === 0) throw new Error("the recovered database has no orders");
          return counts.join(" ");
        },
      },
      smoke: {
        async run() {
          const { runSmoke } = (require("../smoke/run") as typeof import("../smoke/run"));
          await lb.probe();
          const r = await runSmoke({ url: new URL(edge.url), bypassToken, timeoutMs: 5000, budgetMs: 2000, healthPath: "/healthz", pagePath: "/", apiPath: "/api/products?limit=1" });
          if (!r.ok) throw new Error(r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.reason}`).join("; "));
          return `smoke gate passed through the bypass (${r.checks.map((c) => `${c.name} ${c.ms} ms`).join(", ")})`;
        },
      },
      postmortem: {
        async write(entries: readonly TimelineEntry[]) {
          const path = join(o.outDir, `postmortem-${o.lang ?? "es"}.md`);
          writeFileSync(path, renderPostmortem({ ...timeline, entries: [...entries] }, o.lang ?? "es"));
          return path;
        },
      },
    };

    const result = await runPlan({
      adapters,
      timeline,
      path: timelinePath,
      steps: PLAN.filter((s) => s.id !== "postmortem"),
      onStep: (e) => say(e.status === "running" ? `▶ ${e.step}` : `${e.status === "ok" ? "✔" : "✘"} ${e.step} (${secondsBetween(Date.parse(e.startedAt), Date.parse(e.endedAt))} s) ${e.error ?? e.detail}`),
    });
    const reopenedAt = timeline.entries.find((e) => e.step === "reopen" && e.status === "ok")?.endedAt;

    // ---- after reopening: replay drains, traffic stops, losses counted -----------------------------
    await sleep(500);
    trafficOn = false;
    await traffic;
    const finalComments = async () => {
      const c = new Client({ connectionString: endpoint.urlFor(DATABASE) });
      await c.connect();
      try {
        const r = await c.query<{ id: string; replayed: boolean }>("SELECT comment_id AS id, replayed FROM comments");
        return r.rows;
      } finally {
        await c.end();
      }
    };
    let rows = await finalComments().catch(() => []);
    const drainDeadline = Date.now() + (result.ok ? 20_000 : 0);
    // Buffered deliveries are the edge's promise: wait until each one has been replayed.
    while ([...buffered].some((id) => !rows.some((r) => r.id === id)) && Date.now() < drainDeadline) {
      await sleep(250);
      rows = await finalComments().catch(() => rows);
    }
    const stored = new Set(rows.map((r) => r.id));
    const ordersNow = await (async () => {
      const c = new Client({ connectionString: endpoint.urlFor(DATABASE) });
      await c.connect();
      try {
        return new Set((await c.query<{ ref: string }>("SELECT ref FROM orders")).rows.map((r) => r.ref));
      } finally {
        await c.end();
      }
    })().catch(() => new Set<string>());
    const seedRefs = Array.from({ length: SEED_ORDERS }, (_, i) => `seed-${i + 1}`);
    const ordersLost = [...seedRefs, ...acked.keys()].filter((ref) => !ordersNow.has(ref)).length;
    const commentsLost = [...accepted].filter((id) => !stored.has(id)).length;
    const rpoSeconds = o.scenario === "pitr" ? secondsBetween(recoveryTarget.getTime(), badAt) : secondsBetween(exportAt, badAt);
    const rtoSeconds = reopenedAt ? secondsBetween(incidentAt, Date.parse(reopenedAt)) : null;
    timeline.facts.rtoSeconds = rtoSeconds;
    timeline.facts.rpoSeconds = rpoSeconds;
    timeline.facts.ordersLost = ordersLost;
    timeline.facts.commentsLost = commentsLost;
    timeline.facts.alerts = sink.received.map((a) => `${a.service}:${a.service === "pagerduty" ? a.body.event_action : "message"}`).join(", ");

    // The post-mortem is the plan's last step, run once the facts are in.
    const final = result.ok ? await runPlan({ adapters, timeline, path: timelinePath, onStep: (e) => say(e.status === "running" ? `▶ ${e.step}` : `✔ ${e.step} ${e.detail}`) }) : result;
    const pm = timeline.entries.find((e) => e.step === "postmortem" && e.status === "ok")?.detail ?? null;
    const report: DrillReport = {
      scenario: o.scenario,
      ok: final.ok && (o.scenario !== "pitr" || (ordersLost === 0 && commentsLost === 0)),
      failedStep: final.failed ?? null,
      timeScale: scale,
      scaled: { unhealthyThresholdSeconds: thresholdMs / 1000, productionUnhealthyMinutes: PRODUCTION_UNHEALTHY_MINUTES, healthIntervalSeconds: intervalMs / 1000 },
      rtoSeconds,
      rpo: { ordersLost, commentsLost, seconds: rpoSeconds },
      traffic: { ordersAcknowledged: acked.size, commentsAccepted: accepted.size, commentsBuffered: buffered.size, commentsReplayed: rows.filter((r) => r.replayed).length },
      steps: timeline.entries.map((e) => ({ name: e.step, ok: e.status === "ok", startedAt: e.startedAt, seconds: secondsBetween(Date.parse(e.startedAt), Date.parse(e.endedAt)), detail: e.detail, ...(e.error ? { error: e.error } : {}) })),
      alerts: sink.received.map((a) => ({ service: a.service, action: a.service === "pagerduty" ? String(a.body.event_action) : "message", at: a.at })),
      timeline: timelinePath,
      postmortem: pm,
    };
    if (o.keep) {
      // The operator stops a kept environment with Ctrl-C: that is the normal end, not an interruption.
      unregister();
      await o.keep(report, { edge: edge.url, alerts: sink.pagerdutyUrl.replace(/\/v2\/enqueue$/, ""), database: endpoint.urlFor(DATABASE) });
    }
    return report;
  } finally {
    await stopAll();
    removeScratch();
    process.off("exit", removeScratch);
    unregister();
  }
}
