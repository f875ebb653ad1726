/** `drp smoke` input: every flag validated where it enters, one line naming the cause and the fix. */
import { DrpError } from "../lib/cli";

export const SMOKE_DEFAULTS = {
  healthPath: "/healthz",
  pagePath: "/",
  /** A cheap read that still goes through the API, the database and Redis. */
  apiPath: "/api/products?limit=1",
  timeoutMs: 10_000,
  budgetMs: 2_000,
} as const;

export interface SmokeOptions {
  /** Base URL the paths are appended to (no trailing slash in `href` use). */
  readonly url: URL;
  readonly bypassToken?: string;
  readonly timeoutMs: number;
  readonly budgetMs: number;
  readonly healthPath: string;
  readonly pagePath: string;
  readonly apiPath: string;
}

export interface RawSmokeOptions {
  url?: string;
  bypassToken?: string;
  timeoutMs?: string | number;
  budgetMs?: string | number;
  healthPath?: string;
  pagePath?: string;
  apiPath?: string;
}

const bad = (message: string) => new DrpError(message, 2);

function milliseconds(flag: string, raw: string | number | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const s = String(raw).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 600_000)) throw bad(`${flag} "${raw}" is not valid; use whole milliseconds from 1 to 600000, e.g. ${flag} ${fallback}`);
  return n;
}

function path(flag: string, raw: string | undefined, fallback: string): string {
  const p = raw ?? fallback;
  if (!p.startsWith("/") || p.startsWith("//") || /[\s#]/.test(p))
    throw bad(`${flag} "${p}" is not valid; use a path starting with one "/", without spaces or "#", e.g. ${flag} ${fallback}`);
  return p;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function parseSmokeOptions(raw: RawSmokeOptions): SmokeOptions {
  if (!raw.url) throw bad("--url is required; use the app's base URL, e.g. --url https://app.livestreamsell.ai");
  let url: URL;
  try {
    url = new URL(raw.url);
  } catch {
    throw bad(`--url "${raw.url}" is not a URL; use the app's base URL, e.g. --url https://app.livestreamsell.ai`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw bad(`--url "${raw.url}" must use https (or http for a local origin)`);
  if (url.search || url.hash || url.username || url.password)
    throw bad(`--url "${raw.url}" must be a base URL without query, fragment or credentials; set paths with --health-path, --page-path, --api-path`);

  const token = raw.bypassToken;
  if (token !== undefined) {
    if (!/^[\x21-\x7e]{1,1024}$/.test(token))
      throw bad("the bypass token (--bypass-token or DRP_BYPASS_TOKEN) is empty or has spaces or non-ASCII characters; copy the secret's value exactly");
    if (url.protocol === "http:" && !LOOPBACK.has(url.hostname))
      throw bad(`refusing to send the bypass token over plain http to ${url.hostname}; use an https URL`);
  }

  const timeoutMs = milliseconds("--timeout-ms", raw.timeoutMs, SMOKE_DEFAULTS.timeoutMs);
  // Without --budget-ms, a short --timeout-ms also caps the budget.
  const budgetMs = milliseconds("--budget-ms", raw.budgetMs, Math.min(SMOKE_DEFAULTS.budgetMs, timeoutMs));
  if (budgetMs > timeoutMs) throw bad(`--budget-ms ${budgetMs} exceeds --timeout-ms ${timeoutMs}; a check is abandoned at the timeout, so lower the budget or raise the timeout`);

  return {
    url,
    bypassToken: token,
    timeoutMs,
    budgetMs,
    healthPath: path("--health-path", raw.healthPath, SMOKE_DEFAULTS.healthPath),
    pagePath: path("--page-path", raw.pagePath, SMOKE_DEFAULTS.pagePath),
    apiPath: path("--api-path", raw.apiPath, SMOKE_DEFAULTS.apiPath),
  };
}
