/**
 * The comment spike: signed Meta comment webhooks sent open loop. Arrival i is due at start + i x interval
 * whatever happened to the earlier ones (no request waits for another's answer), so a saturated receiver
 * shows up as latency, timeouts and refusals instead of as a politely slower generator. Connections come
 * from a keep-alive pool of at most `maxInFlight` sockets; an arrival that finds every one busy is not
 * queued behind them (that would hide the saturation): it fails at its scheduled time, counted as
 * `failedBy.saturated`. `drp chaos spike` and the chaos runner's comment-spike scenario both call runSpike.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { BUFFERED_HEADER, SIGNATURE_HEADER, WEBHOOK_PATH } from "../../constructs/maintenance-page/bindings";
import { metaCommentBody, metaSignature } from "./meta-comments";

/** Limits and defaults of the spike: one home for each. */
export const SPIKE_LIMITS = {
  /** Arrivals per minute (the plan's spike is 5,000/min, 5x nominal; saturation tests go 10x and more). */
  ratePerMinute: { min: 1, max: 600_000 },
  durationMs: { min: 1_000, max: 3_600_000 },
  /** Arrivals in one run: bounds the memory the latency record takes (8 bytes each). */
  maxArrivals: 2_000_000,
  timeoutMs: { min: 100, max: 60_000 },
  maxInFlight: { min: 1, max: 4_096 },
} as const;

export const SPIKE_DEFAULTS = {
  /** Meta's newer guides ask for an answer within 5 s; later than that counts as a failure here too. */
  timeoutMs: 5_000,
  maxInFlight: 512,
  /** How often onProgress is called. */
  progressEveryMs: 1_000,
} as const;

export interface SpikeOptions {
  /** Base URL of the app or the edge (the webhook path is added when the URL has none), or the full webhook URL. */
  readonly target: string;
  readonly ratePerMinute: number;
  readonly durationMs: number;
  /** Meta app secret the bodies are signed with. */
  readonly secret: string;
  /** A target that is not loopback must be allowed explicitly (the CLI's --yes). */
  readonly allowRemote?: boolean;
  /** Per-request timeout (default SPIKE_DEFAULTS.timeoutMs). */
  readonly timeoutMs?: number;
  /** Most requests on the wire at once = sockets in the pool (default SPIKE_DEFAULTS.maxInFlight). */
  readonly maxInFlight?: number;
  /** Prefix of this run's comment ids (default: 8 random hex digits); see spikeCommentId. */
  readonly runId?: string;
  /** Stops the schedule; requests on the wire still finish (each bounded by the timeout). */
  readonly signal?: AbortSignal;
  /** Called about every second while the schedule runs, and once at the end. */
  readonly onProgress?: (p: SpikeProgress) => void;
}

export interface SpikeProgress {
  readonly elapsedMs: number;
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly failed: number;
  readonly inFlight: number;
}

export interface SpikeResult {
  /** The webhook URL the comments went to. */
  readonly target: string;
  readonly runId: string;
  readonly ratePerMinute: number;
  readonly durationMs: number;
  /** Arrivals the schedule holds for the full duration. */
  readonly planned: number;
  /** Arrivals that came due (planned, or fewer when stopped): each is accepted, rejected or failed. */
  readonly sent: number;
  /** Answered 2xx. */
  readonly accepted: number;
  /** Of the accepted, those the edge buffered (answered with the x-drp-buffered header). */
  readonly buffered: number;
  /** Answered with any other status. */
  readonly rejected: number;
  /** Rejections by status code, e.g. { "403": 12, "503": 4 }. */
  readonly rejectedByStatus: Readonly<Record<string, number>>;
  /** No answer: timed out, network error, or never on the wire because every socket was busy. */
  readonly failed: number;
  readonly failedBy: { readonly timeout: number; readonly network: number; readonly saturated: number };
  /** Time to the full answer of each answered request (accepted or rejected), in ms. */
  readonly latencyMs: Percentiles;
  /** How late each arrival was put on the wire relative to its scheduled time, in ms. */
  readonly lateMs: Percentiles;
  /** Requests put on the wire per minute, over the window from the start to the last arrival's actual dispatch plus one interval. */
  readonly achievedPerMinute: number;
  /**
   * 100 x |1 - achievedPerMinute / ratePerMinute|. Zero when every arrival left on time; arrivals dropped for
   * want of a socket, or a generator falling behind (the last arrival leaving late), raise it.
   */
  readonly scheduleErrorPct: number;
  /** Wall time from the first arrival until the last answer. */
  readonly elapsedMs: number;
  /** The schedule was stopped (signal) before its end. */
  readonly aborted: boolean;
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Bad options: the message names the option and the fix. */
export class SpikeInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpikeInputError";
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The webhook URL for a target: its own path, or WEBHOOK_PATH when it has none. Throws SpikeInputError. */
export function webhookUrl(target: string): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new SpikeInputError(`target "${target}" is not a URL; use e.g. http://127.0.0.1:8787 (the webhook path ${WEBHOOK_PATH} is added)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new SpikeInputError(`target "${target}" is not http(s); use e.g. http://127.0.0.1:8787`);
  if (url.username || url.password) throw new SpikeInputError(`target "${target}" carries credentials; drop the user:password@ part`);
  if (url.pathname === "/" || url.pathname === "") url.pathname = WEBHOOK_PATH;
  url.hash = "";
  return url;
}

function inRange(name: string, v: number, r: { min: number; max: number }, unit: string): void {
  if (!Number.isFinite(v) || v < r.min || v > r.max) throw new SpikeInputError(`${name} ${v} is out of bounds; use ${r.min} to ${r.max} ${unit}`);
}

/** Checks every option before anything is sent; returns the webhook URL. Throws SpikeInputError. */
export function checkSpikeOptions(o: SpikeOptions): URL {
  const url = webhookUrl(o.target);
  if (!isLoopbackHost(url.hostname) && o.allowRemote !== true)
    throw new SpikeInputError(`target ${url.host} is not loopback; confirm a spike against it with --yes`);
  if (typeof o.secret !== "string" || o.secret.trim() === "") throw new SpikeInputError("the app secret is empty; pass --secret or set META_APP_SECRET");
  inRange("rate (--rate)", o.ratePerMinute, SPIKE_LIMITS.ratePerMinute, "per minute");
  inRange("duration (--duration)", o.durationMs, SPIKE_LIMITS.durationMs, "ms");
  const planned = plannedArrivals(o.ratePerMinute, o.durationMs);
  if (planned > SPIKE_LIMITS.maxArrivals)
    throw new SpikeInputError(`${planned} arrivals (rate x duration) exceed ${SPIKE_LIMITS.maxArrivals}; lower the rate or the duration`);
  if (o.timeoutMs !== undefined) inRange("timeout (--timeout-ms)", o.timeoutMs, SPIKE_LIMITS.timeoutMs, "ms");
  if (o.maxInFlight !== undefined && !Number.isInteger(o.maxInFlight)) throw new SpikeInputError(`max in-flight (--max-in-flight) ${o.maxInFlight} is not a whole number`);
  if (o.maxInFlight !== undefined) inRange("max in-flight (--max-in-flight)", o.maxInFlight, SPIKE_LIMITS.maxInFlight, "requests");
  if (o.runId !== undefined && !/^[0-9a-z]{1,16}$/.test(o.runId)) throw new SpikeInputError(`run id "${o.runId}" must be 1 to 16 lowercase letters or digits`);
  return url;
}

/** Arrivals due in `durationMs` at `ratePerMinute`: one at t = 0, then one per interval while t < duration. */
export function plannedArrivals(ratePerMinute: number, durationMs: number): number {
  return Math.max(1, Math.ceil((ratePerMinute * durationMs) / 60_000 - 1e-9));
}

function percentiles(values: Float64Array, n: number): Percentiles {
  if (n === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = values.slice(0, n).sort();
  const at = (q: number) => round(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted[n - 1]) };
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export async function runSpike(o: SpikeOptions): Promise<SpikeResult> {
  const url = checkSpikeOptions(o);
  const timeoutMs = o.timeoutMs ?? SPIKE_DEFAULTS.timeoutMs;
  const maxInFlight = o.maxInFlight ?? SPIKE_DEFAULTS.maxInFlight;
  const runId = o.runId ?? randomBytes(4).toString("hex");
  const planned = plannedArrivals(o.ratePerMinute, o.durationMs);
  const intervalMs = 60_000 / o.ratePerMinute;
  const secure = url.protocol === "https:";
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight })
    : new http.Agent({ keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight });
  const request = secure ? https.request : http.request;

  const latencies = new Float64Array(planned);
  const lateness = new Float64Array(planned);
  let answered = 0;
  let sent = 0;
  let onWire = 0;
  let inFlight = 0;
  let accepted = 0;
  let buffered = 0;
  let rejected = 0;
  const rejectedByStatus: Record<string, number> = {};
  const failedBy = { timeout: 0, network: 0, saturated: 0 };
  /** When the latest arrival was dispatched (put on the wire or failed as saturated). */
  let lastArrivalAt = 0;
  let lastAnswerAt = 0;
  let aborted = false;
  let drained: () => void = () => undefined;

  const settle = () => {
    inFlight--;
    lastAnswerAt = performance.now();
    if (inFlight === 0) drained();
  };

  const send = (i: number, at: number) => {
    onWire++;
    inFlight++;
    const body = metaCommentBody(runId, i, Date.now());
    let done = false;
    const req = request(url, {
      method: "POST",
      agent,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "user-agent": "facebookexternalua",
        [SIGNATURE_HEADER]: metaSignature(body, o.secret),
      },
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError()), timeoutMs);
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e instanceof TimeoutError) failedBy.timeout++;
      else failedBy.network++;
      settle();
    };
    req.on("error", fail);
    req.on("response", (res) => {
      res.on("error", fail);
      res.on("data", () => undefined);
      res.on("end", () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        latencies[answered++] = performance.now() - at;
        if (status >= 200 && status < 300) {
          accepted++;
          if (res.headers[BUFFERED_HEADER] !== undefined) buffered++;
        } else {
          rejected++;
          rejectedByStatus[String(status)] = (rejectedByStatus[String(status)] ?? 0) + 1;
        }
        settle();
      });
    });
    req.end(body);
  };

  const progress = (start: number) =>
    o.onProgress?.({ elapsedMs: Math.round(performance.now() - start), sent, accepted, rejected, failed: failedBy.timeout + failedBy.network + failedBy.saturated, inFlight });

  const start = performance.now();
  let progressTimer: NodeJS.Timeout | undefined;
  if (o.onProgress) progressTimer = setInterval(() => progress(start), SPIKE_DEFAULTS.progressEveryMs);
  try {
    // The schedule: wake at the next arrival's due time and send every arrival that is due by now.
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        aborted = sent < planned;
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (o.signal?.aborted) return stop();
      o.signal?.addEventListener("abort", stop, { once: true });
      const tick = () => {
        const now = performance.now();
        while (sent < planned && start + sent * intervalMs <= now) {
          const i = sent++;
          const at = performance.now();
          lateness[i] = at - (start + i * intervalMs);
          lastArrivalAt = at;
          if (inFlight >= maxInFlight) failedBy.saturated++;
          else send(i, at);
        }
        if (sent >= planned) {
          o.signal?.removeEventListener("abort", stop);
          return resolve();
        }
        timer = setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      };
      tick();
    });
    if (inFlight > 0) await new Promise<void>((r) => (drained = r));
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    agent.destroy();
  }
  progress(start);

  const failed = failedBy.timeout + failedBy.network + failedBy.saturated;
  // The window the arrivals that came due actually took, against the sent x interval they should have.
  const actualSpan = sent > 0 ? lastArrivalAt - start + intervalMs : 0;
  const achievedPerMinute = actualSpan > 0 ? (onWire / actualSpan) * 60_000 : 0;
  const plannedRate = o.ratePerMinute;
  const scheduleErrorPct = sent === 0 ? 0 : 100 * Math.abs(1 - achievedPerMinute / plannedRate);
  return {
    target: url.href,
    runId,
    ratePerMinute: plannedRate,
    durationMs: o.durationMs,
    planned,
    sent,
    accepted,
    buffered,
    rejected,
    rejectedByStatus,
    failed,
    failedBy,
    latencyMs: percentiles(latencies, answered),
    lateMs: percentiles(lateness, sent),
    achievedPerMinute: round(achievedPerMinute, 1),
    scheduleErrorPct: round(scheduleErrorPct, 3),
    elapsedMs: Math.round(Math.max(lastAnswerAt, lastArrivalAt, start) - start),
    aborted,
  };
}

class TimeoutError extends Error {
  constructor() {
    super("timed out");
  }
}

/** The result as a few human lines. */
export function formatSpike(r: SpikeResult): string {
  const statuses = Object.entries(r.rejectedByStatus)
    .map(([s, n]) => `${s}=${n}`)
    .join(" ");
  return [
    `Spike to ${r.target}: ${r.sent} of ${r.planned} arrivals at ${r.ratePerMinute}/min${r.aborted ? " (stopped early)" : ""}`,
    `  accepted ${r.accepted}${r.buffered > 0 ? ` (${r.buffered} buffered at the edge)` : ""}, rejected ${r.rejected}${statuses ? ` (${statuses})` : ""}, failed ${r.failed} (timeout=${r.failedBy.timeout} network=${r.failedBy.network} saturated=${r.failedBy.saturated})`,
    `  latency ms p50 ${r.latencyMs.p50} p95 ${r.latencyMs.p95} p99 ${r.latencyMs.p99} max ${r.latencyMs.max}`,
    `  achieved ${r.achievedPerMinute}/min, schedule error ${r.scheduleErrorPct}% (lateness ms p50 ${r.lateMs.p50} p99 ${r.lateMs.p99} max ${r.lateMs.max})`,
  ].join("\n");
}

/** `5000/min`, `5000/m`, `5000` (per minute) or `100/s`: arrivals per minute. Throws SpikeInputError. */
export function parseRatePerMinute(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(min|m|s|sec))?\s*$/i.exec(raw);
  const fix = `use N/min or N/s, e.g. 5000/min, from ${SPIKE_LIMITS.ratePerMinute.min} to ${SPIKE_LIMITS.ratePerMinute.max} per minute`;
  if (!m) throw new SpikeInputError(`--rate "${raw}" does not parse; ${fix}`);
  const perMinute = Number(m[1]) * (m[2] && /^s/i.test(m[2]) ? 60 : 1);
  if (!(perMinute >= SPIKE_LIMITS.ratePerMinute.min && perMinute <= SPIKE_LIMITS.ratePerMinute.max)) throw new SpikeInputError(`--rate "${raw}" is out of bounds; ${fix}`);
  return perMinute;
}

/** `60s`, `60` (seconds), `2m` or `1500ms`: a duration in ms. Throws SpikeInputError. */
export function parseDurationMs(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/i.exec(raw);
  const r = SPIKE_LIMITS.durationMs;
  const fix = `use Ns or Nm, e.g. 60s, from ${r.min / 1000}s to ${r.max / 60_000}m`;
  if (!m) throw new SpikeInputError(`--duration "${raw}" does not parse; ${fix}`);
  const unit = (m[2] ?? "s").toLowerCase();
  const ms = Math.round(Number(m[1]) * (unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000));
  if (!(ms >= r.min && ms <= r.max)) throw new SpikeInputError(`--duration "${raw}" is out of bounds; ${fix}`);
  return ms;
}
