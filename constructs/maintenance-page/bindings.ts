/**
 * The maintenance Worker's contract, shared by the Worker (its `Env` type and how it reads each value)
 * and the edge stack (which bindings it deploys, of which kind, with which defaults), so the two cannot drift.
 * Pure TypeScript: it is bundled into the Worker and also loaded by Node.
 */

export interface BindingSpec {
  /** How Cloudflare stores the value: plain text is visible in the dashboard, a secret is write-only. */
  readonly type: "plain_text" | "secret_text";
  /** Value the edge stack deploys when nothing overrides it; the Worker treats a missing binding the same way. */
  readonly default?: string;
  readonly description: string;
}

export const WORKER_BINDINGS = {
  MAINTENANCE: {
    type: "plain_text",
    default: "off",
    description: `"on" answers every request with the maintenance page (bypass token excepted); "off" serves the origin`,
  },
  ORIGIN_URL: {
    type: "plain_text",
    default: "",
    description: "Origin base URL (http or https, no query); empty forwards to the request's own URL, the load-balanced origin",
  },
  ORIGIN_TIMEOUT_MS: {
    type: "plain_text",
    default: "15000",
    description: "Milliseconds to wait for the origin's response headers before serving the maintenance page",
  },
  MAINTENANCE_HOSTNAME: {
    type: "plain_text",
    default: "",
    description: "Originless hostname (the load balancer's fallback origin): its requests get the maintenance page at once, without a subrequest",
  },
  BYPASS_TOKEN: {
    type: "secret_text",
    description: "Token the smoke gate sends in the bypass header to reach the origin through maintenance; empty disables the bypass",
  },
} as const satisfies Record<string, BindingSpec>;

export type BindingName = keyof typeof WORKER_BINDINGS;

/** The Worker's `Env`: every binding is a string, and any may be absent (local runs, a partial deploy). */
export type WorkerEnv = { readonly [K in BindingName]?: string };

/** Workers runtime compatibility date: the edge stack deploys with it and the tests run with it. */
export const WORKER_COMPATIBILITY_DATE = "2025-09-01";

/** Request header carrying the bypass token; the Worker strips it before forwarding. */
export const BYPASS_HEADER = "x-drp-bypass-token";

/** Response header (value "1") on every maintenance response: how the smoke gate tells the page from the app. */
export const MAINTENANCE_HEADER = "x-drp-maintenance";

/** Response header on a bypassed request whose origin gave no answer: "timeout", "unreachable" or "misconfigured". */
export const ORIGIN_ERROR_HEADER = "x-drp-origin-error";

/** Seconds sent in Retry-After on maintenance responses (also the page's own refresh interval). */
export const RETRY_AFTER_SECONDS = 300;

export const DEFAULT_ORIGIN_TIMEOUT_MS = Number(WORKER_BINDINGS.ORIGIN_TIMEOUT_MS.default);

export const ORIGIN_TIMEOUT_MS_RANGE = { min: 100, max: 100_000 } as const;

// ---- value parsing, used by the Worker at runtime and by the edge stack before deploying ----------------

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** "on" | "off" (any case, surrounding spaces ignored); absent or empty means the default, off. */
export function parseMaintenance(raw: string | undefined): Parsed<boolean> {
  const v = (raw ?? "").trim().toLowerCase();
  if (v === "" || v === "off") return { ok: true, value: false };
  if (v === "on") return { ok: true, value: true };
  return { ok: false, error: `MAINTENANCE="${raw}" is not valid; use "on" or "off"` };
}

/** Empty means pass through to the request's own URL; otherwise an http(s) URL without query or fragment. */
export function parseOriginUrl(raw: string | undefined): Parsed<URL | null> {
  const v = (raw ?? "").trim();
  if (v === "") return { ok: true, value: null };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { ok: false, error: `ORIGIN_URL="${raw}" is not a URL; use a base such as https://origin.example.com or leave it empty` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return { ok: false, error: `ORIGIN_URL="${raw}" must use http or https` };
  if (url.search || url.hash || url.username || url.password)
    return { ok: false, error: `ORIGIN_URL="${raw}" must not carry a query, fragment or credentials` };
  return { ok: true, value: url };
}

/** Whole milliseconds within ORIGIN_TIMEOUT_MS_RANGE; absent or empty means the default, 15000. */
export function parseOriginTimeoutMs(raw: string | undefined): Parsed<number> {
  const v = (raw ?? "").trim();
  if (v === "") return { ok: true, value: DEFAULT_ORIGIN_TIMEOUT_MS };
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  const { min, max } = ORIGIN_TIMEOUT_MS_RANGE;
  if (!(n >= min && n <= max)) return { ok: false, error: `ORIGIN_TIMEOUT_MS="${raw}" must be a whole number of milliseconds from ${min} to ${max}` };
  return { ok: true, value: n };
}

/** Empty means none; otherwise a lowercase DNS hostname. */
export function parseHostname(raw: string | undefined): Parsed<string | null> {
  const v = (raw ?? "").trim();
  if (v === "") return { ok: true, value: null };
  if (!/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/.test(v)) return { ok: false, error: `MAINTENANCE_HOSTNAME="${raw}" must be a lowercase hostname such as maintenance.example.com, or empty` };
  return { ok: true, value: v };
}

export interface PlainTextValues {
  readonly MAINTENANCE?: string;
  readonly ORIGIN_URL?: string;
  readonly ORIGIN_TIMEOUT_MS?: string;
  readonly MAINTENANCE_HOSTNAME?: string;
}

/**
 * The plain-text bindings to deploy, in WORKER_BINDINGS order with defaults filled in, after validating
 * every value; throws once listing every bad one. The secret binding is left to the caller, whose value
 * comes from Secrets Manager.
 */
export function plainTextBindings(values: PlainTextValues = {}): { name: BindingName; type: "plain_text"; text: string }[] {
  const errors: string[] = [];
  const check = (p: Parsed<unknown>) => {
    if (!p.ok) errors.push(p.error);
  };
  check(parseMaintenance(values.MAINTENANCE));
  check(parseOriginUrl(values.ORIGIN_URL));
  check(parseOriginTimeoutMs(values.ORIGIN_TIMEOUT_MS));
  check(parseHostname(values.MAINTENANCE_HOSTNAME));
  if (errors.length) throw new Error(`invalid maintenance Worker bindings:\n  ${errors.join("\n  ")}`);
  const out: { name: BindingName; type: "plain_text"; text: string }[] = [];
  for (const [name, spec] of Object.entries(WORKER_BINDINGS) as [BindingName, BindingSpec][]) {
    if (spec.type !== "plain_text") continue;
    const given = values[name as keyof PlainTextValues];
    out.push({ name, type: "plain_text", text: (given ?? spec.default ?? "").trim() });
  }
  return out;
}
