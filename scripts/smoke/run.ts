/**
 * The post-recovery smoke gate: health endpoint, storefront page and an API read, each within a latency
 * budget. Through the Worker with the bypass token it validates the recovered origin while the public
 * still sees the maintenance page; a maintenance answer is always a failure, never mistaken for the app.
 */
import { BYPASS_HEADER, MAINTENANCE_HEADER, ORIGIN_ERROR_HEADER } from "../../constructs/maintenance-page/bindings";
import { version } from "../../package.json";
import type { SmokeOptions } from "./options";

export type CheckName = "health" | "page" | "api";

export interface CheckResult {
  readonly name: CheckName;
  readonly path: string;
  /** HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** Time to the complete body, in ms. */
  readonly ms: number;
  readonly ok: boolean;
  /** Why it failed; null when it passed. */
  readonly reason: string | null;
}

export interface SmokeReport {
  readonly ok: boolean;
  readonly url: string;
  readonly checks: CheckResult[];
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** Bodies beyond this are not read: no check needs more, and a runaway answer must not eat memory. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const HEALTHY_STATUS = new Set(["ok", "pass", "healthy", "up"]);

function snippet(body: string): string {
  const s = body.replace(/\s+/g, " ").trim();
  return s ? `: ${s.length > 120 ? `${s.slice(0, 120)}...` : s}` : "";
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

const isJsonType = (h: Headers) => /^application\/([\w.+-]*\+)?json\b/i.test(h.get("content-type") ?? "");

function expectHealth(a: Answer): string | null {
  if (a.status < 200 || a.status > 299) return `HTTP ${a.status}, expected 2xx${snippet(a.body)}`;
  const json = parseJson(a.body);
  if (!json.ok) return a.body.trim().toLowerCase() === "ok" ? null : `body is neither JSON nor "ok"${snippet(a.body)}`;
  const v = json.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `expected a JSON object${snippet(a.body)}`;
  const o = v as Record<string, unknown>;
  if ("ok" in o && o.ok !== true) return `reports ok: ${JSON.stringify(o.ok)}${snippet(a.body)}`;
  if ("status" in o && !(typeof o.status === "string" && HEALTHY_STATUS.has(o.status.toLowerCase())))
    return `reports status ${JSON.stringify(o.status)}${snippet(a.body)}`;
  // Silence is not health: {} or {"db":"down"} must not reopen traffic.
  if (!("ok" in o) && !("status" in o)) return `reports neither ok: true nor a healthy status${snippet(a.body)}`;
  return null;
}

function expectPage(a: Answer): string | null {
  if (a.status !== 200) return `HTTP ${a.status}, expected 200${snippet(a.body)}`;
  const type = a.headers.get("content-type") ?? "";
  if (!/^text\/html\b/i.test(type)) return `content-type "${type}", expected text/html`;
  if (a.body.trim() === "") return "empty page";
  return null;
}

function expectApi(a: Answer): string | null {
  if (a.status !== 200) return `HTTP ${a.status}, expected 200${snippet(a.body)}`;
  if (!isJsonType(a.headers)) return `content-type "${a.headers.get("content-type") ?? ""}", expected JSON`;
  if (!parseJson(a.body).ok) return `body is not valid JSON${snippet(a.body)}`;
  return null;
}

const CHECKS: { name: CheckName; path: (o: SmokeOptions) => string; accept: string; expect: (a: Answer) => string | null }[] = [
  { name: "health", path: (o) => o.healthPath, accept: "application/json, text/plain;q=0.5", expect: expectHealth },
  { name: "page", path: (o) => o.pagePath, accept: "text/html", expect: expectPage },
  { name: "api", path: (o) => o.apiPath, accept: "application/json", expect: expectApi },
];

async function readBody(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new Error(`body larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function networkReason(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return `no complete answer within ${timeoutMs} ms`;
  const cause = err?.cause;
  if (cause?.code) return `cannot connect (${cause.code}${cause.message && !cause.message.includes(cause.code) ? `: ${cause.message}` : ""})`;
  return `request failed: ${cause?.message ?? err?.message ?? String(e)}`;
}

function targetUrl(base: URL, path: string): string {
  const prefix = base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname;
  return `${base.origin}${prefix}${path}`;
}

async function runCheck(check: (typeof CHECKS)[number], o: SmokeOptions): Promise<CheckResult> {
  const path = check.path(o);
  const headers: Record<string, string> = {
    accept: check.accept,
    "cache-control": "no-cache",
    "user-agent": `drp-smoke/${version}`,
  };
  if (o.bypassToken) headers[BYPASS_HEADER] = o.bypassToken;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let answer: Answer;
  try {
    const res = await fetch(targetUrl(o.url, path), { headers, redirect: "manual", signal: AbortSignal.timeout(o.timeoutMs) });
    answer = { status: res.status, headers: res.headers, body: await readBody(res) };
  } catch (e) {
    return { name: check.name, path, status: null, ms: elapsed(), ok: false, reason: networkReason(e, o.timeoutMs) };
  }
  const ms = elapsed();
  const fail = (reason: string): CheckResult => ({ name: check.name, path, status: answer.status, ms, ok: false, reason });

  if (answer.headers.get(MAINTENANCE_HEADER) === "1")
    return fail(
      o.bypassToken
        ? `got the maintenance page (${MAINTENANCE_HEADER}: 1), not the app: the Worker rejected the bypass token; check DRP_BYPASS_TOKEN against the Worker's BYPASS_TOKEN secret`
        : `got the maintenance page (${MAINTENANCE_HEADER}: 1), not the app: the Worker is in maintenance or isolating a failing origin; pass the bypass token (--bypass-token or DRP_BYPASS_TOKEN) to check the origin itself`,
    );
  const originError = answer.headers.get(ORIGIN_ERROR_HEADER);
  if (originError) return fail(`the Worker could not get an answer from the origin (${originError})${snippet(answer.body)}`);
  if (answer.status >= 300 && answer.status < 400) return fail(`HTTP ${answer.status} redirect to ${answer.headers.get("location") ?? "(no Location)"}`);
  const reason = check.expect(answer);
  if (reason) return fail(reason);
  if (ms > o.budgetMs) return fail(`took ${ms} ms, over the ${o.budgetMs} ms budget`);
  return { name: check.name, path, status: answer.status, ms, ok: true, reason: null };
}

/** Runs the checks one after another, so each latency is measured alone. */
export async function runSmoke(o: SmokeOptions): Promise<SmokeReport> {
  const checks: CheckResult[] = [];
  for (const check of CHECKS) checks.push(await runCheck(check, o));
  return { ok: checks.every((c) => c.ok), url: o.url.href, checks };
}

export function formatReport(r: SmokeReport, viaBypass: boolean): string {
  const pathWidth = Math.max(...r.checks.map((c) => c.path.length));
  const lines = r.checks.map((c) =>
    [
      c.name.padEnd(6),
      `GET ${c.path.padEnd(pathWidth)}`,
      String(c.status ?? "---").padStart(3),
      `${c.ms} ms`.padStart(8),
      c.ok ? "PASS" : `FAIL  ${c.reason}`,
    ].join("  "),
  );
  const failed = r.checks.filter((c) => !c.ok).length;
  return [
    `smoke ${r.url}${viaBypass ? " (through the Worker with the bypass token)" : ""}`,
    ...lines.map((l) => `  ${l}`),
    failed ? `FAIL: ${failed} of ${r.checks.length} checks failed; do not reopen traffic` : `PASS: all ${r.checks.length} checks passed`,
  ].join("\n");
}
