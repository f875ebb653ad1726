/**
 * The plan's four chaos scenarios as data: each names its steady-state hypothesis, its fault (locally: in
 * the fault proxy in front of a stand-in; in the cloud: the chaos stack's FIS template) and its probes.
 * Production figures live in CHAOS_PRODUCTION; a local run divides the waits by --time-scale (latency
 * bounds of unrelated requests are not scaled: they measure blocking, not waiting).
 */
import { randomBytes } from "node:crypto";
import { BUFFERED_HEADER, SIGNATURE_HEADER, WEBHOOK_PATH } from "../../constructs/maintenance-page/bindings";
import type { Scenario } from "../../constructs/chaos-experiments/scenarios";
import { AI_TIMEOUT_MS, PAYMENT_TIMEOUT_MS } from "../drill/storefront";
import { SMOKE_DEFAULTS } from "../smoke/options";
import type { Phase, ProbeResult, FaultControl } from "./experiment";
import type { Fault, FaultProxy } from "./fault-proxy";
import type { ChaosEnvironment } from "./local";
import { metaCommentBody, metaSignature, spikeCommentId } from "./meta-comments";

/** A local fault: one fault proxy switched on, and off again (also synchronously, from the exit handler). */
function proxyFault(proxy: FaultProxy, fault: Fault, description: string): FaultControl {
  return {
    description,
    async inject() {
      proxy.inject(fault);
      return { proxy: proxy.url, ...fault };
    },
    async rollback() {
      proxy.rollback();
    },
    rollbackNow: () => proxy.rollback(),
  };
}

/** The scenarios' production figures: one home for each. */
export const CHAOS_PRODUCTION = {
  /** How long a fault stays in force. */
  faultWindowMs: 30_000,
  /** The AI provider's answer time in ai-latency (the plan's "AI answers in 30 s"). */
  aiLatencyMs: 30_000,
  /** Requests that need no failing dependency (product list): slowest answer, never scaled. */
  unrelatedBoundMs: 1_000,
  /** The spike: 5,000 comments in one minute, 5x nominal. */
  spike: { ratePerMinute: 5_000, durationMs: 60_000, minAcceptedPct: 99.5, p99BoundMs: 2_000 },
  /** Buffered webhooks are replayed within this after the origin is back (locally the Worker retries every few seconds). */
  replayDeadlineMs: 30_000,
  /** Worker's first replay delay on the drill environment (the edge deploys 30 s). */
  localReplayRetryDelaySeconds: 1,
} as const;

/**
 * A reply (the AI's or the fallback) and a checkout (card or bank transfer) must arrive within the app's
 * deadline for the dependency plus what an unrelated request may take: the deadline is scaled, the rest not.
 */
const withinDeadline = (deadlineMs: number) => deadlineMs + CHAOS_PRODUCTION.unrelatedBoundMs;

export const TIME_SCALE_RANGE = { min: 1, max: 10 } as const;

export interface ScaledFigures {
  readonly timeScale: number;
  readonly faultWindowMs: number;
  readonly aiLatencyMs: number;
  readonly aiTimeoutMs: number;
  readonly replyBoundMs: number;
  readonly paymentTimeoutMs: number;
  readonly checkoutBoundMs: number;
  readonly unrelatedBoundMs: number;
  readonly spikeDurationMs: number;
}

export function scaledFigures(timeScale: number): ScaledFigures {
  const s = (ms: number) => Math.round(ms / timeScale);
  return {
    timeScale,
    faultWindowMs: s(CHAOS_PRODUCTION.faultWindowMs),
    aiLatencyMs: s(CHAOS_PRODUCTION.aiLatencyMs),
    aiTimeoutMs: s(AI_TIMEOUT_MS),
    replyBoundMs: withinDeadline(s(AI_TIMEOUT_MS)),
    paymentTimeoutMs: s(PAYMENT_TIMEOUT_MS),
    checkoutBoundMs: withinDeadline(s(PAYMENT_TIMEOUT_MS)),
    unrelatedBoundMs: CHAOS_PRODUCTION.unrelatedBoundMs,
    spikeDurationMs: s(CHAOS_PRODUCTION.spike.durationMs),
  };
}

export interface ScenarioDefinition {
  readonly id: Scenario;
  readonly hypothesis: string;
  /** What the chaos stack's FIS template does in the cloud. */
  readonly cloudFault: string;
  /** Builds the local fault and probes on the drill environment. */
  local(env: ChaosEnvironment, f: ScaledFigures): { fault: FaultControl; probe(phase: Phase): Promise<ProbeResult[]>; notes: string[] };
}

// ---- probe helpers ----------------------------------------------------------------------------------------

interface Timed {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
  readonly headers: Headers | null;
}

async function timed(url: string, init?: RequestInit, timeoutMs = 60_000): Promise<Timed> {
  const t0 = performance.now();
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await r.text();
    return { status: r.status, ms: Math.round(performance.now() - t0), body, headers: r.headers };
  } catch (e) {
    return { status: 0, ms: Math.round(performance.now() - t0), body: (e as Error).message, headers: null };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const maxOf = (xs: readonly number[]) => (xs.length ? Math.max(...xs) : 0);
function statusCounts(rs: readonly Timed[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) out[String(r.status)] = (out[String(r.status)] ?? 0) + 1;
  return out;
}
const fmtStatuses = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([s, n]) => `${n}x${s === "0" ? "no answer" : s}`)
    .join(" ");

/** Runs `round` until the window has passed (at least once), collecting what each round returns. */
async function throughout<T>(windowMs: number, round: () => Promise<T[]>): Promise<T[]> {
  const end = Date.now() + windowMs;
  const all: T[] = [];
  do {
    all.push(...(await round()));
  } while (Date.now() < end);
  return all;
}

const products = (env: ChaosEnvironment, n = 3) => Promise.all(Array.from({ length: n }, () => timed(`${env.edgeUrl}/api/products?limit=5`)));

function unrelatedProbe(rs: readonly Timed[], f: ScaledFigures): ProbeResult {
  const c = statusCounts(rs);
  const slowest = maxOf(rs.map((r) => r.ms));
  const ok = rs.length > 0 && rs.every((r) => r.status === 200) && slowest <= f.unrelatedBoundMs;
  return {
    name: "product list (unrelated requests)",
    ok,
    detail: `${rs.length} requests: ${fmtStatuses(c)}; slowest ${slowest} ms (bound ${f.unrelatedBoundMs} ms)`,
    evidence: { requests: rs.length, statuses: c, slowestMs: slowest, boundMs: f.unrelatedBoundMs },
  };
}

/** Sends signed Meta comment deliveries through the Worker; returns each id with its answer. */
async function deliver(to: { readonly edgeUrl: string; readonly appSecret: string }, runId: string, from: number, n: number): Promise<{ id: string; r: Timed }[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const i = from + k;
      const body = metaCommentBody(runId, i, Date.now());
      const r = await timed(`${to.edgeUrl}${WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: metaSignature(body, to.appSecret) },
        body,
      });
      return { id: spikeCommentId(runId, i), r };
    }),
  );
}

async function storedOf(env: ChaosEnvironment, ids: readonly string[]): Promise<{ stored: Set<string>; replayed: number }> {
  if (ids.length === 0) return { stored: new Set(), replayed: 0 };
  const rows = await env.query<{ comment_id: string; replayed: boolean }>("SELECT comment_id, replayed FROM comments WHERE comment_id = ANY($1)", [ids]);
  return { stored: new Set(rows.map((r) => r.comment_id)), replayed: rows.filter((r) => r.replayed).length };
}

/** Waits until every id is stored, or the deadline; the evidence counts stored, replayed and lost. */
async function noneLost(env: ChaosEnvironment, name: string, ids: readonly string[], deadlineMs: number): Promise<ProbeResult> {
  const t0 = Date.now();
  let seen = await storedOf(env, ids);
  while (seen.stored.size < ids.length && Date.now() - t0 < deadlineMs) {
    await sleep(250);
    seen = await storedOf(env, ids);
  }
  const lost = ids.length - seen.stored.size;
  return {
    name,
    ok: lost === 0,
    detail: `${seen.stored.size} of ${ids.length} accepted comments stored (${seen.replayed} replayed from the buffer), ${lost} lost, after ${Date.now() - t0} ms (deadline ${deadlineMs} ms)`,
    evidence: { accepted: ids.length, stored: seen.stored.size, replayed: seen.replayed, lost, waitedMs: Date.now() - t0, deadlineMs },
  };
}

function webhookProbe(name: string, sent: readonly { id: string; r: Timed }[], expectBuffered: boolean | null): ProbeResult {
  const c = statusCounts(sent.map((s) => s.r));
  const buffered = sent.filter((s) => s.r.headers?.has(BUFFERED_HEADER)).length;
  const accepted = sent.filter((s) => s.r.status === 200).length;
  const ok = sent.length > 0 && accepted === sent.length && (expectBuffered === null || (expectBuffered ? buffered === accepted : buffered === 0));
  return {
    name,
    ok,
    detail: `${sent.length} signed deliveries: ${fmtStatuses(c)}; ${buffered} buffered at the edge; slowest ${maxOf(sent.map((s) => s.r.ms))} ms`,
    evidence: { sent: sent.length, accepted, buffered, statuses: c, slowestMs: maxOf(sent.map((s) => s.r.ms)) },
  };
}

// ---- the scenarios -----------------------------------------------------------------------------------------

const webhookDisconnect: ScenarioDefinition = {
  id: "webhook-disconnect",
  hypothesis:
    "While the origin's webhook path fails, every signed Meta delivery is still answered 200 at the edge (buffered), and once the origin is back every accepted comment is stored: none lost.",
  cloudFault: "the FIS template stops a share of the primary service's tasks (aws:ecs:stop-task) and waits while ECS replaces them; the edge Worker buffers what the origin cannot take",
  local(env, f) {
    const runId = randomBytes(4).toString("hex");
    let next = 0;
    const accepted: string[] = [];
    const send = async (n: number) => {
      const sent = await deliver(env, runId, next, n);
      next += n;
      accepted.push(...sent.filter((s) => s.r.status === 200).map((s) => s.id));
      return sent;
    };
    return {
      notes: [
        "locally the origin's connections are refused by the fault proxy in front of the storefront; the Worker in workerd buffers and replays",
        "the buffer-unavailable branch (the queue refuses: the Worker answers 503 so Meta retries, and the seller is told to act manually) is not injected here: the queue is inside workerd; __tests__/maintenance-page/buffer.test.ts covers it",
      ],
      fault: proxyFault(env.proxies.origin, { kind: "refuse" }, `origin connections refused for ${f.faultWindowMs} ms (fault proxy in front of the storefront)`),
      async probe(phase) {
        if (phase === "before") {
          const sent = await send(5);
          return [webhookProbe("webhook deliveries answered 200 by the origin", sent, false), await noneLost(env, "comments stored", accepted, 5_000)];
        }
        if (phase === "during") {
          const sent = await throughout(f.faultWindowMs, async () => {
            const s = await send(3);
            await sleep(200);
            return s;
          });
          return [webhookProbe("webhook deliveries answered 200 and buffered at the edge", sent, true)];
        }
        const sent = await send(5);
        return [webhookProbe("webhook deliveries answered 200", sent, null), await noneLost(env, "every accepted comment stored (buffered ones replayed): none lost", accepted, CHAOS_PRODUCTION.replayDeadlineMs)];
      },
    };
  },
};

const aiLatency: ScenarioDefinition = {
  id: "ai-latency",
  hypothesis:
    "While the AI provider takes 30 s to answer, unrelated requests (the product list) keep their latency under the bound, and every comment reply (any seller's) arrives within the bound, with the fallback when the AI is late.",
  cloudFault: "the FIS template adds 30 s of network latency from the app tasks towards the AI provider's hosts (aws:ecs:task-network-latency)",
  local(env, f) {
    // One reply per seller at once: a seller waiting on the AI must not hold up the others.
    const SELLERS = 4;
    const replies = () =>
      Promise.all(Array.from({ length: SELLERS }, (_, k) => timed(`${env.edgeUrl}/api/reply?seller=seller-${k + 1}&comment=${encodeURIComponent("precio de la polera?")}`)));
    const replyProbe = (rs: readonly Timed[], wantSource: "ai" | "any"): ProbeResult => {
      const sources: Record<string, number> = {};
      for (const r of rs) {
        let src = "unparsable";
        try {
          src = (JSON.parse(r.body) as { source?: string }).source ?? "none";
        } catch {
          // counted as unparsable
        }
        sources[src] = (sources[src] ?? 0) + 1;
      }
      const slowest = maxOf(rs.map((r) => r.ms));
      const answered = rs.filter((r) => r.status === 200).length;
      const ok = rs.length > 0 && answered === rs.length && slowest <= f.replyBoundMs && (wantSource === "any" || sources.ai === rs.length);
      return {
        name: wantSource === "ai" ? "comment replies from the AI" : "comment replies (AI or fallback) within the bound",
        ok,
        detail: `${rs.length} replies (${SELLERS} sellers at a time): ${fmtStatuses(statusCounts(rs))}; sources ${Object.entries(sources).map(([s, n]) => `${s}=${n}`).join(" ")}; slowest ${slowest} ms (bound ${f.replyBoundMs} ms)`,
        evidence: { requests: rs.length, statuses: statusCounts(rs), sources, slowestMs: slowest, boundMs: f.replyBoundMs, aiTimeoutMs: f.aiTimeoutMs },
      };
    };
    return {
      notes: [`the AI's answer is delayed ${f.aiLatencyMs} ms by the fault proxy in front of the AI stand-in; the storefront's AI deadline is ${f.aiTimeoutMs} ms`],
      fault: proxyFault(env.proxies.ai, { kind: "latency", ms: f.aiLatencyMs }, `AI provider latency ${f.aiLatencyMs} ms for ${f.faultWindowMs} ms (fault proxy in front of the AI stand-in)`),
      async probe(phase) {
        if (phase === "during") {
          const rounds = await throughout(f.faultWindowMs, async () => [await Promise.all([replies(), products(env)])]);
          return [replyProbe(rounds.flatMap((r) => r[0]), "any"), unrelatedProbe(rounds.flatMap((r) => r[1]), f)];
        }
        const [r, p] = await Promise.all([replies(), products(env)]);
        return [replyProbe(r, "ai"), unrelatedProbe(p, f)];
      },
    };
  },
};

const paymentDown: ScenarioDefinition = {
  id: "payment-down",
  hypothesis: "While the payment gateway does not answer, checkout still answers within the bound offering bank transfer, and every order is stored: none lost.",
  cloudFault: "the FIS template drops 100 % of the app tasks' packets towards the payment gateways' hosts (aws:ecs:task-network-packet-loss)",
  local(env, f) {
    let seq = 0;
    const acknowledged: string[] = [];
    const checkout = (n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const ref = `chaos-${Date.now()}-${++seq}`;
          const r = await timed(`${env.edgeUrl}/api/checkout`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ref, sku: "LIVE-001", qty: 1 }) });
          if (r.status === 201) acknowledged.push(ref);
          let payment = "none";
          try {
            payment = (JSON.parse(r.body) as { payment?: string }).payment ?? "none";
          } catch {
            // counted as none
          }
          return { ref, r, payment };
        }),
      );
    const checkoutProbe = (rs: readonly { r: Timed; payment: string }[], want: "card" | "bank_transfer"): ProbeResult => {
      const payments: Record<string, number> = {};
      for (const x of rs) payments[x.payment] = (payments[x.payment] ?? 0) + 1;
      const slowest = maxOf(rs.map((x) => x.r.ms));
      const ok = rs.length > 0 && rs.every((x) => x.r.status === 201 && x.payment === want) && slowest <= f.checkoutBoundMs;
      return {
        name: want === "card" ? "checkout paid by card" : "checkout offers bank transfer within the bound",
        ok,
        detail: `${rs.length} checkouts: ${fmtStatuses(statusCounts(rs.map((x) => x.r)))}; payment ${Object.entries(payments).map(([p, n]) => `${p}=${n}`).join(" ")}; slowest ${slowest} ms (bound ${f.checkoutBoundMs} ms)`,
        evidence: { requests: rs.length, statuses: statusCounts(rs.map((x) => x.r)), payments, slowestMs: slowest, boundMs: f.checkoutBoundMs, paymentTimeoutMs: f.paymentTimeoutMs },
      };
    };
    return {
      notes: [`the gateway's connections are accepted and never answered by the fault proxy; the storefront's payment deadline is ${f.paymentTimeoutMs} ms`],
      fault: proxyFault(env.proxies.payment, { kind: "blackhole" }, `payment gateway blackholed for ${f.faultWindowMs} ms (fault proxy in front of the gateway stand-in)`),
      async probe(phase) {
        if (phase === "during") {
          const rounds = await throughout(f.faultWindowMs, async () => [await Promise.all([checkout(3), products(env)])]);
          return [checkoutProbe(rounds.flatMap((r) => r[0]), "bank_transfer"), unrelatedProbe(rounds.flatMap((r) => r[1]), f)];
        }
        const [c, p] = await Promise.all([checkout(3), products(env)]);
        const results = [checkoutProbe(c, "card"), unrelatedProbe(p, f)];
        if (phase === "after") {
          const rows = await env.query<{ ref: string }>("SELECT ref FROM orders WHERE ref = ANY($1)", [acknowledged]);
          const lost = acknowledged.length - rows.length;
          results.push({
            name: "every acknowledged order stored: none lost",
            ok: lost === 0 && acknowledged.length > 0,
            detail: `${rows.length} of ${acknowledged.length} acknowledged orders stored, ${lost} lost`,
            evidence: { acknowledged: acknowledged.length, stored: rows.length, lost },
          });
        }
        return results;
      },
    };
  },
};

const commentSpike: ScenarioDefinition = {
  id: "comment-spike",
  hypothesis: `5,000 comments in one minute (5x nominal) are accepted at >= ${CHAOS_PRODUCTION.spike.minAcceptedPct} % with p99 latency under ${CHAOS_PRODUCTION.spike.p99BoundMs} ms, unrelated requests keep their latency, and every accepted comment is stored: none lost.`,
  cloudFault: "the FIS template is a guarded window (aws:fis:wait) with its stop conditions while drp chaos spike --target sends the load alongside; the runner probes --target",
  local(env, f) {
    const { runSpike } = require("./spike") as typeof import("./spike");
    const runId = randomBytes(4).toString("hex");
    const controller = new AbortController();
    let spike: Promise<import("./spike").SpikeResult> | undefined;
    let steady: { id: string; r: Timed }[] = [];
    return {
      notes: [`locally the spike runs ${CHAOS_PRODUCTION.spike.ratePerMinute}/min for ${f.spikeDurationMs} ms (60 s / time scale ${f.timeScale}) through the Worker`],
      fault: {
        description: `${CHAOS_PRODUCTION.spike.ratePerMinute} signed comment webhooks per minute for ${f.spikeDurationMs} ms, open loop`,
        async inject() {
          spike = runSpike({ target: env.edgeUrl, ratePerMinute: CHAOS_PRODUCTION.spike.ratePerMinute, durationMs: f.spikeDurationMs, secret: env.appSecret, runId: `s${runId}`, signal: controller.signal });
          return { runId: `s${runId}`, ratePerMinute: CHAOS_PRODUCTION.spike.ratePerMinute, durationMs: f.spikeDurationMs };
        },
        async rollback() {
          controller.abort();
          const r = await spike?.catch(() => undefined);
          return r ? { sent: r.sent, aborted: r.aborted } : {};
        },
        rollbackNow: () => controller.abort(),
      },
      async probe(phase) {
        if (phase === "before") {
          steady = await deliver(env, runId, 0, 5);
          return [webhookProbe("webhook deliveries answered 200", steady, false), unrelatedProbe(await products(env), f)];
        }
        if (phase === "during") {
          let done = false;
          const finished = spike!.finally(() => (done = true));
          const unrelated: Timed[] = [];
          while (!done) {
            unrelated.push(...(await products(env, 2)));
            await Promise.race([finished.catch(() => undefined), sleep(500)]);
          }
          const r = await finished;
          const acceptedPct = r.sent ? Math.round((r.accepted / r.sent) * 10_000) / 100 : 0;
          const lim = CHAOS_PRODUCTION.spike;
          return [
            {
              name: "spike accepted with bounded latency",
              ok: r.sent > 0 && acceptedPct >= lim.minAcceptedPct && r.latencyMs.p99 <= lim.p99BoundMs,
              detail: `${r.sent} sent, ${r.accepted} accepted (${acceptedPct} %, bound >= ${lim.minAcceptedPct} %; ${r.buffered} buffered), ${r.rejected} rejected, ${r.failed} failed; p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms (bound ${lim.p99BoundMs} ms); achieved ${Math.round(r.achievedPerMinute)}/min`,
              evidence: { sent: r.sent, accepted: r.accepted, acceptedPct, buffered: r.buffered, rejected: r.rejected, rejectedByStatus: r.rejectedByStatus, failed: r.failed, failedBy: r.failedBy, latencyMs: r.latencyMs, achievedPerMinute: r.achievedPerMinute, scheduleErrorPct: r.scheduleErrorPct, minAcceptedPct: lim.minAcceptedPct, p99BoundMs: lim.p99BoundMs },
            },
            unrelatedProbe(unrelated, f),
          ];
        }
        const r = await spike!;
        // The generator records counts, not ids: the comments of this run are counted by their id prefix.
        const prefix = spikeCommentId(`s${runId}`, 0).slice(0, -7);
        const t0 = Date.now();
        let stored = 0;
        while (Date.now() - t0 < CHAOS_PRODUCTION.replayDeadlineMs) {
          stored = Number((await env.query<{ n: string }>("SELECT count(*) AS n FROM comments WHERE comment_id LIKE $1", [`${prefix}%`]))[0].n);
          if (stored >= r.accepted) break;
          await sleep(250);
        }
        const lost = Math.max(0, r.accepted - stored);
        return [
          {
            name: "every accepted spike comment stored (buffered ones replayed): none lost",
            ok: lost === 0,
            detail: `${stored} stored of ${r.accepted} accepted, ${lost} lost, after ${Date.now() - t0} ms`,
            evidence: { accepted: r.accepted, stored, lost, waitedMs: Date.now() - t0 },
          },
          unrelatedProbe(await products(env), f),
        ];
      },
    };
  },
};

export const SCENARIO_DEFINITIONS: Readonly<Record<Scenario, ScenarioDefinition>> = {
  "webhook-disconnect": webhookDisconnect,
  "ai-latency": aiLatency,
  "payment-down": paymentDown,
  "comment-spike": commentSpike,
};

/** Cloud scenarios whose hypothesis is about webhooks: their probes send signed deliveries, so they need the app secret. */
export const CLOUD_WEBHOOK_SCENARIOS: readonly Scenario[] = ["webhook-disconnect", "comment-spike"];

/**
 * The steady state checked against a deployed environment (--target): the public health, the product list's
 * latency, and, with the app secret, signed webhook deliveries answered 200 (stored or buffered at the edge).
 */
export async function targetProbes(target: string, appSecret?: string, boundMs: number = CHAOS_PRODUCTION.unrelatedBoundMs, healthPath: string = SMOKE_DEFAULTS.healthPath): Promise<ProbeResult[]> {
  const base = target.replace(/\/$/, "");
  const [health, ...list] = await Promise.all([timed(`${base}${healthPath}`, undefined, 10_000), ...Array.from({ length: 3 }, () => timed(`${base}/api/products?limit=5`, undefined, 10_000))]);
  const f = { unrelatedBoundMs: boundMs } as ScaledFigures;
  const results: ProbeResult[] = [
    {
      name: "public health check",
      ok: health.status === 200,
      detail: `GET ${healthPath}: ${health.status === 0 ? `no answer (${health.body})` : health.status} in ${health.ms} ms`,
      evidence: { status: health.status, ms: health.ms },
    },
    unrelatedProbe(list, f),
  ];
  if (appSecret) {
    const runId = `c${randomBytes(4).toString("hex")}`;
    const sent = await deliver({ edgeUrl: base, appSecret }, runId, 0, 3);
    results.push(webhookProbe("signed webhook deliveries answered 200 (stored or buffered)", sent, null));
  }
  return results;
}
