/**
 * The maintenance Worker on app.livestreamsell.ai/*: passes traffic to the origin untouched; answers with
 * the maintenance page when maintenance is forced or when the origin fails (5xx, timeout, unreachable);
 * lets the smoke gate through to the real origin with the bypass token.
 */
import {
  BYPASS_HEADER,
  DEFAULT_ORIGIN_TIMEOUT_MS,
  MAINTENANCE_HEADER,
  ORIGIN_ERROR_HEADER,
  RETRY_AFTER_SECONDS,
  parseHostname,
  parseMaintenance,
  parseOriginTimeoutMs,
  parseOriginUrl,
  type WorkerEnv,
} from "../bindings";
import { chooseLang } from "./language";
import { MAINTENANCE_HTML, MAINTENANCE_JSON, PAGE_CSP, WEBHOOK_TEXT } from "./page";

interface Settings {
  readonly maintenance: boolean;
  /** null: forward to the request's own URL. */
  readonly origin: URL | null;
  /** ORIGIN_URL is set but unusable: every visitor gets the page, the bypass gets a 502 saying why. */
  readonly originError: string | null;
  readonly timeoutMs: number;
  readonly token: string;
  /** Requests for this hostname have no origin: they get the page at once. */
  readonly maintenanceHostname: string | null;
}

let settingsKey = "";
let settings: Settings | undefined;

/** Parses the bindings once per isolate (again only if they change); bad values are logged, never thrown. */
function readSettings(env: WorkerEnv): Settings {
  const key = `${env.MAINTENANCE}\n${env.ORIGIN_URL}\n${env.ORIGIN_TIMEOUT_MS}\n${env.MAINTENANCE_HOSTNAME}\n${env.BYPASS_TOKEN}`;
  if (settings && key === settingsKey) return settings;
  const maintenance = parseMaintenance(env.MAINTENANCE);
  const origin = parseOriginUrl(env.ORIGIN_URL);
  const timeout = parseOriginTimeoutMs(env.ORIGIN_TIMEOUT_MS);
  const host = parseHostname(env.MAINTENANCE_HOSTNAME);
  // An unreadable MAINTENANCE means someone meant to change it: fail closed, the bypass still works.
  if (!maintenance.ok) console.error(`drp-maintenance: ${maintenance.error}; serving maintenance`);
  if (!origin.ok) console.error(`drp-maintenance: ${origin.error}; serving maintenance`);
  if (!timeout.ok) console.error(`drp-maintenance: ${timeout.error}; using the default`);
  if (!host.ok) console.error(`drp-maintenance: ${host.error}; ignoring it`);
  settings = {
    maintenance: maintenance.ok ? maintenance.value : true,
    origin: origin.ok ? origin.value : null,
    originError: origin.ok ? null : origin.error,
    timeoutMs: timeout.ok ? timeout.value : DEFAULT_ORIGIN_TIMEOUT_MS,
    token: env.BYPASS_TOKEN ?? "",
    maintenanceHostname: host.ok ? host.value : null,
  };
  settingsKey = key;
  return settings;
}

// ---- bypass token -----------------------------------------------------------------------------------

const encoder = new TextEncoder();
let secretDigest: { token: string; digest: ArrayBuffer } | undefined;

const sha256 = (s: string) => crypto.subtle.digest("SHA-256", encoder.encode(s));

/** Compares digests in constant time, so neither the content nor the length of the secret leaks. */
async function bypassGranted(request: Request, secret: string): Promise<boolean> {
  const given = request.headers.get(BYPASS_HEADER);
  if (given === null || secret === "") return false;
  if (secretDigest?.token !== secret) secretDigest = { token: secret, digest: await sha256(secret) };
  return crypto.subtle.timingSafeEqual(await sha256(given), secretDigest.digest);
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

function originRequest(request: Request, url: URL, origin: URL | null): Request {
  let target = request.url;
  if (origin) {
    const base = origin.pathname.endsWith("/") ? origin.pathname.slice(0, -1) : origin.pathname;
    target = `${origin.origin}${base}${url.pathname}${url.search}`;
  }
  const headers = new Headers(request.headers);
  headers.delete(BYPASS_HEADER);
  // Redirects go back to the browser as they are; the Worker never follows them itself.
  return new Request(target, { method: request.method, headers, body: request.body, redirect: "manual" });
}

/** The origin's response once its headers arrive; the body then streams without any deadline. */
async function fetchOrigin(request: Request, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new OriginTimeout(`no response headers within ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(request, { signal: controller.signal });
  } catch (e) {
    throw controller.signal.aborted ? controller.signal.reason : e;
  } finally {
    clearTimeout(timer);
  }
}

function bypassError(status: 502 | 504, kind: string, detail: string): Response {
  return new Response(`drp bypass: origin ${kind}: ${detail}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", [ORIGIN_ERROR_HEADER]: kind },
  });
}

export default {
  async fetch(request, env): Promise<Response> {
    const s = readSettings(env);
    const url = new URL(request.url);
    if (url.hostname === s.maintenanceHostname) return maintenanceResponse(request, url);
    const bypass = await bypassGranted(request, s.token);
    if (!bypass && (s.maintenance || s.originError)) return maintenanceResponse(request, url);
    if (s.originError) return bypassError(502, "misconfigured", s.originError);

    let response: Response;
    try {
      response = await fetchOrigin(originRequest(request, url, s.origin), s.timeoutMs);
    } catch (e) {
      const timedOut = e instanceof OriginTimeout;
      const detail = e instanceof Error ? e.message : String(e);
      if (bypass) return timedOut ? bypassError(504, "timeout", detail) : bypassError(502, "unreachable", detail);
      console.warn(`drp-maintenance: origin ${timedOut ? "timed out" : "unreachable"} for ${request.method} ${url.pathname} (${detail}); serving maintenance`);
      return maintenanceResponse(request, url);
    }
    if (response.status >= 500 && !bypass) {
      // The origin's error page may carry stack traces or internals: drop it unread.
      await response.body?.cancel();
      console.warn(`drp-maintenance: origin answered ${response.status} for ${request.method} ${url.pathname}; serving maintenance`);
      return maintenanceResponse(request, url);
    }
    return response;
  },
} satisfies ExportedHandler<WorkerEnv>;
