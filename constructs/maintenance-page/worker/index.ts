/**
 * The maintenance Worker on app.livestreamsell.ai/*: passes traffic to the origin untouched; answers with
 * the maintenance page when maintenance is forced or when the origin fails (5xx, timeout, unreachable);
 * lets the smoke gate through to the real origin with the bypass token. Meta's signed webhooks are never
 * turned away while the app is down: they are verified, buffered on a Cloudflare Queue and replayed by
 * this same Worker's queue() handler once the origin takes them again.
 */
import {
  BYPASS_HEADER,
  DEFAULT_ORIGIN_TIMEOUT_MS,
  DEFAULT_REPLAY_MAX_DELAY_SECONDS,
  DEFAULT_REPLAY_RETRY_DELAY_SECONDS,
  BUFFERED_HEADER,
  EVENT_RECEIVED,
  MAINTENANCE_HEADER,
  MAX_BUFFERED_BODY_BYTES,
  ORIGIN_ERROR_HEADER,
  REPLAY_CONSUMER,
  REPLAY_HEADERS,
  RETRY_AFTER_SECONDS,
  SIGNATURE_HEADER,
  parseBypassToken,
  parseDelaySeconds,
  parseHostname,
  parseMaintenance,
  parseOriginTimeoutMs,
  parseOriginUrl,
  replayDelaySeconds,
  WORKER_BINDINGS,
  type BindingName,
  type TextBindingName,
  type WorkerEnv,
} from "../bindings";
import { chooseLang } from "./language";
import { MAINTENANCE_HTML, MAINTENANCE_JSON, PAGE_CSP, WEBHOOK_TEXT } from "./page";
import {
  bufferedWebhook,
  challengeAnswer,
  checkSignature,
  classify,
  isBufferedWebhook,
  isWebhookPath,
  replayRequest,
  tooLargeToBuffer,
  type BufferedWebhook,
  type ReplayOutcome,
} from "./webhook";

interface Settings {
  readonly maintenance: boolean;
  /** null: forward to the request's own URL. */
  readonly origin: URL | null;
  /** ORIGIN_URL is set but unusable: every visitor gets the page, the bypass gets a 502 saying why. */
  readonly originError: string | null;
  readonly timeoutMs: number;
  /** Empty: the bypass is disabled (unset or unusable). */
  readonly token: string;
  /** Requests for this hostname have no origin: they get the page at once. */
  readonly maintenanceHostname: string | null;
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly retryDelaySeconds: number;
  readonly maxDelaySeconds: number;
  readonly deadLetterQueueName: string;
}

const TEXT_BINDINGS = (Object.keys(WORKER_BINDINGS) as BindingName[]).filter((n): n is TextBindingName => WORKER_BINDINGS[n].type !== "queue");

let settingsKey = "";
let settings: Settings | undefined;

/** Parses the bindings once per isolate (again only if they change); bad values are logged, never thrown. */
function readSettings(env: WorkerEnv): Settings {
  // Every text binding, from the one declaration: a new binding takes part without another edit here.
  const key = TEXT_BINDINGS.map((name) => env[name]).join("\n");
  if (settings && key === settingsKey) return settings;
  const maintenance = parseMaintenance(env.MAINTENANCE);
  const origin = parseOriginUrl(env.ORIGIN_URL);
  const timeout = parseOriginTimeoutMs(env.ORIGIN_TIMEOUT_MS);
  const host = parseHostname(env.MAINTENANCE_HOSTNAME);
  const token = parseBypassToken(env.BYPASS_TOKEN);
  const first = parseDelaySeconds("REPLAY_RETRY_DELAY_SECONDS", env.REPLAY_RETRY_DELAY_SECONDS);
  const max = parseDelaySeconds("REPLAY_MAX_DELAY_SECONDS", env.REPLAY_MAX_DELAY_SECONDS);
  // An unreadable MAINTENANCE means someone meant to change it: fail closed, the bypass still works.
  if (!maintenance.ok) console.error(`drp-maintenance: ${maintenance.error}; serving maintenance`);
  if (!origin.ok) console.error(`drp-maintenance: ${origin.error}; serving maintenance`);
  if (!timeout.ok) console.error(`drp-maintenance: ${timeout.error}; using the default`);
  if (!host.ok) console.error(`drp-maintenance: ${host.error}; ignoring it`);
  if (!token.ok) console.error(`drp-maintenance: ${token.error}; generate one with: openssl rand -hex 32`);
  if (!first.ok) console.error(`drp-maintenance: ${first.error}; using the default`);
  if (!max.ok) console.error(`drp-maintenance: ${max.error}; using the default`);
  if (!env.META_APP_SECRET) console.error("drp-maintenance: META_APP_SECRET is not set; Meta webhooks cannot be verified and get 503 during an outage");
  settings = {
    maintenance: maintenance.ok ? maintenance.value : true,
    origin: origin.ok ? origin.value : null,
    originError: origin.ok ? null : origin.error,
    timeoutMs: timeout.ok ? timeout.value : DEFAULT_ORIGIN_TIMEOUT_MS,
    token: token.ok ? (token.value ?? "") : "",
    maintenanceHostname: host.ok ? host.value : null,
    appSecret: env.META_APP_SECRET ?? "",
    verifyToken: env.META_VERIFY_TOKEN ?? "",
    retryDelaySeconds: first.ok ? first.value : DEFAULT_REPLAY_RETRY_DELAY_SECONDS,
    maxDelaySeconds: max.ok ? max.value : DEFAULT_REPLAY_MAX_DELAY_SECONDS,
    deadLetterQueueName: (env.WEBHOOK_DEAD_LETTER_QUEUE_NAME ?? "").trim(),
  };
  settingsKey = key;
  return settings;
}

// ---- secrets ----------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const digests = new Map<string, ArrayBuffer>();

const sha256 = (s: string) => crypto.subtle.digest("SHA-256", encoder.encode(s));

/** Compares digests in constant time, so neither the content nor the length of the secret leaks. */
async function equalSecret(given: string, secret: string): Promise<boolean> {
  let digest = digests.get(secret);
  if (!digest) {
    if (digests.size > 4) digests.clear();
    digests.set(secret, (digest = await sha256(secret)));
  }
  return crypto.subtle.timingSafeEqual(await sha256(given), digest);
}

async function bypassGranted(request: Request, secret: string): Promise<boolean> {
  const given = request.headers.get(BYPASS_HEADER);
  if (given === null || secret === "") return false;
  return equalSecret(given, secret);
}

// ---- maintenance responses --------------------------------------------------------------------------

type Kind = "html" | "api" | "webhook";

function kindOf(path: string): Kind {
  if (path === "/api" || path.startsWith("/api/")) return "api";
  if (path === "/webhooks/meta" || path.startsWith("/webhooks/meta/")) return "webhook";
  return "html";
}

const COMMON_HEADERS = {
  "retry-after": String(RETRY_AFTER_SECONDS),
  "cache-control": "no-store",
  [MAINTENANCE_HEADER]: "1",
  "x-content-type-options": "nosniff",
  "x-robots-tag": "noindex",
  "referrer-policy": "no-referrer",
};

function maintenanceResponse(request: Request, url: URL): Response {
  const kind = kindOf(url.pathname);
  const head = request.method === "HEAD";
  if (kind === "webhook")
    return new Response(head ? null : WEBHOOK_TEXT, { status: 503, headers: { ...COMMON_HEADERS, "content-type": "text/plain; charset=utf-8" } });
  const lang = chooseLang(url, request.headers.get("accept-language"));
  if (kind === "api")
    return new Response(head ? null : MAINTENANCE_JSON[lang], {
      status: 503,
      headers: { ...COMMON_HEADERS, "content-type": "application/json; charset=utf-8", "content-language": lang, vary: "Accept-Language" },
    });
  return new Response(head ? null : MAINTENANCE_HTML[lang], {
    status: 503,
    headers: {
      ...COMMON_HEADERS,
      "content-type": "text/html; charset=utf-8",
      "content-language": lang,
      vary: "Accept-Language",
      "content-security-policy": PAGE_CSP,
    },
  });
}

// ---- forwarding ---------------------------------------------------------------------------------------

class OriginTimeout extends Error {}

interface OriginCall {
  readonly request: Request;
  /** Settles once the request body has been handed to the origin: the response deadline starts then. */
  readonly sent: Promise<void>;
}

function targetUrl(url: URL, origin: URL | null, fallback: string): string {
  if (!origin) return fallback;
  const base = origin.pathname.endsWith("/") ? origin.pathname.slice(0, -1) : origin.pathname;
  return `${origin.origin}${base}${url.pathname}${url.search}`;
}

/**
 * The request to the origin. A streamed body goes through an identity stream whose writes complete only
 * as the origin reads them, so a slow upload does not count against the origin's response deadline.
 */
function originRequest(request: Request, url: URL, origin: URL | null, body?: ArrayBuffer): OriginCall {
  const headers = new Headers(request.headers);
  headers.delete(BYPASS_HEADER);
  const init = { method: request.method, headers, redirect: "manual" as const };
  const target = targetUrl(url, origin, request.url);
  // Redirects go back to the browser as they are; the Worker never follows them itself.
  if (body !== undefined || request.body === null)
    return { request: new Request(target, { ...init, body: body ?? null }), sent: Promise.resolve() };
  const length = request.headers.get("content-length");
  const pipe = length !== null && /^\d+$/.test(length) ? new FixedLengthStream(Number(length)) : new IdentityTransformStream();
  const sent = request.body.pipeTo(pipe.writable);
  return { request: new Request(target, { ...init, body: pipe.readable }), sent };
}

/**
 * The origin's response once its headers arrive. The deadline runs from the end of the upload to the
 * response headers; the body then streams without any deadline. `noStore`: never answer from a cache.
 */
async function fetchOrigin(call: OriginCall, timeoutMs: number, noStore = false): Promise<Response> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  const start = () => {
    if (!settled) timer = setTimeout(() => controller.abort(new OriginTimeout(`no response headers within ${timeoutMs} ms`)), timeoutMs);
  };
  call.sent.then(start, start);
  try {
    return await fetch(call.request, { signal: controller.signal, ...(noStore ? { cache: "no-store" as const } : {}) });
  } catch (e) {
    throw controller.signal.aborted ? controller.signal.reason : e;
  } finally {
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
  }
}

function bypassError(status: 502 | 504, kind: string, detail: string): Response {
  return new Response(`drp bypass: origin ${kind}: ${detail}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "private, no-store", [ORIGIN_ERROR_HEADER]: kind },
  });
}

/** A bypassed answer is for the smoke gate alone: no cache between it and the origin may keep it. */
function privateCopy(response: Response): Response {
  const copy = new Response(response.body, response);
  copy.headers.set("cache-control", "private, no-store");
  copy.headers.delete("expires");
  return copy;
}

type Attempt = { ok: true; response: Response } | { ok: false; timedOut: boolean; detail: string };

/** Calls the origin; a 5xx counts as a failure (its body, which may carry internals, is dropped unread). */
async function tryOrigin(call: OriginCall, timeoutMs: number): Promise<Attempt> {
  try {
    const response = await fetchOrigin(call, timeoutMs);
    if (response.status < 500) return { ok: true, response };
    await response.body?.cancel();
    return { ok: false, timedOut: false, detail: `answered ${response.status}` };
  } catch (e) {
    const timedOut = e instanceof OriginTimeout;
    return { ok: false, timedOut, detail: `${timedOut ? "timed out" : "unreachable"} (${e instanceof Error ? e.message : String(e)})` };
  }
}

// ---- Meta webhooks --------------------------------------------------------------------------------------

/** Waits before each further try of a refused queue send (1.3 s in all, within Meta's delivery timeout). */
const QUEUE_SEND_RETRY_MS = [50, 250, 1000] as const;

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra } });
}

/**
 * POST to the webhook path: straight to a healthy origin; when maintenance is on or the origin fails,
 * verified and buffered. The body is read once so the same bytes can be buffered after a failed forward.
 */
async function webhookDelivery(request: Request, url: URL, env: WorkerEnv, s: Settings): Promise<Response> {
  const body = await request.arrayBuffer();
  let why = s.maintenance ? "maintenance is on" : "ORIGIN_URL is unusable";
  if (!s.maintenance && !s.originError) {
    const attempt = await tryOrigin(originRequest(request, url, s.origin, body), s.timeoutMs);
    if (attempt.ok) return attempt.response;
    why = `origin ${attempt.detail}`;
  }
  if (!s.appSecret || !env.WEBHOOK_QUEUE) {
    console.error(`drp-maintenance: cannot buffer the webhook (${!s.appSecret ? "META_APP_SECRET" : "WEBHOOK_QUEUE"} not bound; ${why}); answering 503 so Meta retries`);
    return maintenanceResponse(request, url);
  }
  const check = await checkSignature(request.headers.get(SIGNATURE_HEADER), body, s.appSecret);
  if (check === "missing") return plain(401, "missing X-Hub-Signature-256\n");
  if (check === "invalid") return plain(403, "invalid X-Hub-Signature-256\n");
  if (tooLargeToBuffer(body)) {
    console.error(`drp-maintenance: webhook of ${body.byteLength} bytes exceeds the ${MAX_BUFFERED_BODY_BYTES}-byte buffer limit (${why}); answering 503 so Meta retries`);
    return maintenanceResponse(request, url);
  }
  const message = bufferedWebhook(request, url, body);
  // A refused send (a transient queue error, a burst over the per-queue rate) is tried again before
  // Meta is told to retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await env.WEBHOOK_QUEUE.send(message, { contentType: "v8" });
      break;
    } catch (e) {
      if (attempt < QUEUE_SEND_RETRY_MS.length) {
        await new Promise((r) => setTimeout(r, QUEUE_SEND_RETRY_MS[attempt]));
        continue;
      }
      console.error(`drp-maintenance: webhook not buffered, queue refused it ${attempt + 1} times (${e instanceof Error ? e.message : String(e)}); answering 503 so Meta retries`);
      return maintenanceResponse(request, url);
    }
  }
  console.warn(`drp-maintenance: buffered webhook ${message.id} (${why})`);
  return plain(200, EVENT_RECEIVED, { [BUFFERED_HEADER]: message.id });
}

// ---- replay ---------------------------------------------------------------------------------------------

async function replayOne(m: Message<BufferedWebhook>, s: Settings): Promise<ReplayOutcome> {
  const attempt = await tryOrigin({ request: replayRequest(m.body, m.attempts, s.origin), sent: Promise.resolve() }, s.timeoutMs);
  if (!attempt.ok) return { kind: "down", detail: attempt.detail };
  const status = attempt.response.status;
  await attempt.response.body?.cancel();
  const kind = classify(status);
  return kind === "down" ? { kind, detail: `answered ${status}` } : { kind, status };
}

/** Delivers a batch of buffered webhooks; stops calling the origin at its first failure and holds the rest. */
async function replayBatch(batch: MessageBatch<unknown>, env: WorkerEnv, s: Settings): Promise<void> {
  const hold = (m: Message<unknown>) => m.retry({ delaySeconds: replayDelaySeconds(m.attempts, s.retryDelaySeconds, s.maxDelaySeconds) });
  const deadLetter = async (m: Message<unknown>, why: string) => {
    if (!env.WEBHOOK_DEAD_LETTERS) {
      console.error(`drp-maintenance: ${why}; no WEBHOOK_DEAD_LETTERS bound, holding it`);
      return hold(m);
    }
    await env.WEBHOOK_DEAD_LETTERS.send(m.body, { contentType: "v8" });
    console.error(`drp-maintenance: ${why}; moved to the dead-letter queue`);
    m.ack();
  };
  if (s.maintenance || s.originError) {
    batch.retryAll({ delaySeconds: replayDelaySeconds(Math.min(...batch.messages.map((m) => m.attempts)), s.retryDelaySeconds, s.maxDelaySeconds) });
    return;
  }
  let down: string | null = null;
  const deliver = async (m: Message<unknown>) => {
    if (down !== null) return hold(m);
    if (!isBufferedWebhook(m.body)) return deadLetter(m, `message ${m.id} is not a buffered webhook`);
    const outcome = await replayOne(m as Message<BufferedWebhook>, s);
    if (outcome.kind === "delivered") m.ack();
    else if (outcome.kind === "refused") await deadLetter(m, `origin refused webhook ${m.body.id} with ${outcome.status}`);
    else {
      down ??= outcome.detail;
      hold(m);
    }
  };
  // The first delivery probes the origin alone: a backlog meets a down origin with one request per batch.
  const [first, ...rest] = batch.messages;
  if (!first) return;
  await deliver(first);
  const queue = [...rest];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) await deliver(m);
  };
  await Promise.all(Array.from({ length: Math.min(REPLAY_CONSUMER.concurrency, queue.length) }, worker));
  if (down !== null) console.warn(`drp-maintenance: replay held, origin ${down}`);
}

/** A batch from the dead-letter queue (an operator attached the Worker to it): back to the buffer, fresh attempts. */
async function redrive(batch: MessageBatch<unknown>, env: WorkerEnv): Promise<void> {
  if (!env.WEBHOOK_QUEUE) throw new Error("WEBHOOK_QUEUE is not bound: cannot re-drive");
  for (const m of batch.messages) {
    await env.WEBHOOK_QUEUE.send(m.body, { contentType: "v8" });
    m.ack();
  }
  console.warn(`drp-maintenance: re-drove ${batch.messages.length} webhook(s) from ${batch.queue}`);
}

export default {
  async fetch(request, env): Promise<Response> {
    const s = readSettings(env);
    const url = new URL(request.url);
    if (url.hostname === s.maintenanceHostname) return maintenanceResponse(request, url);
    const bypass = await bypassGranted(request, s.token);
    if (!bypass && isWebhookPath(url.pathname)) {
      if (request.method === "GET" && s.verifyToken) {
        const answer = await challengeAnswer(url, s.verifyToken, equalSecret);
        if (answer) return answer;
      }
      // A replay coming back through this Worker (ORIGIN_URL empty: the consumer posts to the public URL)
      // must reach the origin or fail, never be buffered again and reported delivered.
      if (request.method === "POST" && !request.headers.has(REPLAY_HEADERS.replayed)) {
        // A body too large to buffer is not held in memory: it streams on as any request does.
        const length = Number(request.headers.get("content-length") ?? "0");
        if (!(length > MAX_BUFFERED_BODY_BYTES)) return webhookDelivery(request, url, env, s);
        console.error(`drp-maintenance: webhook of ${length} bytes exceeds the ${MAX_BUFFERED_BODY_BYTES}-byte buffer limit; not buffered (503 if the origin cannot take it, so Meta retries)`);
      }
    }
    if (!bypass && (s.maintenance || s.originError)) return maintenanceResponse(request, url);
    if (s.originError) return bypassError(502, "misconfigured", s.originError);

    let response: Response;
    try {
      response = await fetchOrigin(originRequest(request, url, s.origin), s.timeoutMs, bypass);
    } catch (e) {
      const timedOut = e instanceof OriginTimeout;
      const detail = e instanceof Error ? e.message : String(e);
      if (bypass) return timedOut ? bypassError(504, "timeout", detail) : bypassError(502, "unreachable", detail);
      console.warn(`drp-maintenance: origin ${timedOut ? "timed out" : "unreachable"} for ${request.method} ${url.pathname} (${detail}); serving maintenance`);
      return maintenanceResponse(request, url);
    }
    if (bypass) return privateCopy(response);
    if (response.status >= 500) {
      // The origin's error page may carry stack traces or internals: drop it unread.
      await response.body?.cancel();
      console.warn(`drp-maintenance: origin answered ${response.status} for ${request.method} ${url.pathname}; serving maintenance`);
      return maintenanceResponse(request, url);
    }
    return response;
  },

  async queue(batch, env): Promise<void> {
    const s = readSettings(env);
    if (s.deadLetterQueueName !== "" && batch.queue === s.deadLetterQueueName) return redrive(batch, env);
    return replayBatch(batch, env, s);
  },
} satisfies ExportedHandler<WorkerEnv>;
