/**
 * The maintenance Worker's contract, shared by the Worker (its `Env` type and how it reads each value)
 * and the edge stack (which bindings it deploys, of which kind, with which defaults), so the two cannot drift.
 * Pure TypeScript: it is bundled into the Worker and also loaded by Node.
 */

export interface TextBindingSpec {
  /** How Cloudflare stores the value: plain text is visible in the dashboard, a secret is write-only. */
  readonly type: "plain_text" | "secret_text";
  /** Value the edge stack deploys when nothing overrides it; the Worker treats a missing binding the same way. */
  readonly default?: string;
  readonly description: string;
}

export interface QueueBindingSpec {
  /** A Cloudflare Queue producer: the Worker sends messages to it. */
  readonly type: "queue";
  /** Which of the edge's two queues it is bound to. */
  readonly queue: WebhookQueueRole;
  readonly description: string;
}

export type BindingSpec = TextBindingSpec | QueueBindingSpec;

/** The edge's two queues: the webhook buffer and the dead-letter queue its consumer moves failures to. */
export type WebhookQueueRole = "buffer" | "deadLetter";

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
    description: "Milliseconds to wait for the origin's response headers (counted once the request body is sent) before serving the maintenance page",
  },
  MAINTENANCE_HOSTNAME: {
    type: "plain_text",
    default: "",
    description: "Originless hostname (the load balancer's fallback origin): its requests get the maintenance page at once, without a subrequest",
  },
  REPLAY_RETRY_DELAY_SECONDS: {
    type: "plain_text",
    default: "30",
    description: "First delay before a buffered webhook is offered to the origin again; doubles per attempt up to REPLAY_MAX_DELAY_SECONDS",
  },
  REPLAY_MAX_DELAY_SECONDS: {
    type: "plain_text",
    default: "600",
    description: "Longest delay between two replay attempts of a buffered webhook",
  },
  WEBHOOK_DEAD_LETTER_QUEUE_NAME: {
    type: "plain_text",
    default: "",
    description: "Name of the dead-letter queue: a batch from it (an operator's re-drive) is sent back to the buffer",
  },
  BYPASS_TOKEN: {
    type: "secret_text",
    description: `Token the smoke gate sends in the bypass header to reach the origin through maintenance; fewer than 32 printable non-space characters disables the bypass`,
  },
  META_APP_SECRET: {
    type: "secret_text",
    description: "Meta app secret: the Worker checks X-Hub-Signature-256 with it before buffering a webhook; unset, webhooks are answered 503 during an outage",
  },
  META_VERIFY_TOKEN: {
    type: "secret_text",
    description: "Verify token of the Meta webhook subscription: the Worker answers hub.challenge with it; unset, the challenge goes to the origin",
  },
  WEBHOOK_QUEUE: {
    type: "queue",
    queue: "buffer",
    description: "Producer of the webhook buffer queue, which this same Worker consumes to replay deliveries",
  },
  WEBHOOK_DEAD_LETTERS: {
    type: "queue",
    queue: "deadLetter",
    description: "Producer of the dead-letter queue: deliveries the app refuses (4xx) go there at once",
  },
} as const satisfies Record<string, BindingSpec>;

export type BindingName = keyof typeof WORKER_BINDINGS;
export type TextBindingName = { [K in BindingName]: (typeof WORKER_BINDINGS)[K]["type"] extends "queue" ? never : K }[BindingName];
export type QueueBindingName = Exclude<BindingName, TextBindingName>;
export type PlainTextBindingName = { [K in BindingName]: (typeof WORKER_BINDINGS)[K]["type"] extends "plain_text" ? K : never }[BindingName];
export type SecretBindingName = Exclude<TextBindingName, PlainTextBindingName>;

/** What the Worker needs of a queue producer binding (the runtime's `Queue`), so Node can load this module too. */
export interface QueueProducer {
  send(body: unknown, options?: { contentType?: "json" | "text" | "bytes" | "v8"; delaySeconds?: number }): Promise<void>;
}

/** The Worker's `Env`: text bindings are strings, queue bindings producers, and any may be absent (local runs, a partial deploy). */
export type WorkerEnv = { readonly [K in TextBindingName]?: string } & { readonly [K in QueueBindingName]?: QueueProducer };

/** Text bindings only: what a local run or a test sets by hand (queues are wired by the runner). */
export type WorkerTextEnv = { readonly [K in TextBindingName]?: string };

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

export const DEFAULT_REPLAY_RETRY_DELAY_SECONDS = Number(WORKER_BINDINGS.REPLAY_RETRY_DELAY_SECONDS.default);
export const DEFAULT_REPLAY_MAX_DELAY_SECONDS = Number(WORKER_BINDINGS.REPLAY_MAX_DELAY_SECONDS.default);

export const ORIGIN_TIMEOUT_MS_RANGE = { min: 100, max: 100_000 } as const;

/** A bypass token shorter than this (or with spaces or control characters) is unusable: guessable or mistyped. */
export const BYPASS_TOKEN_MIN_LENGTH = 32;

// ---- Meta webhooks and the edge buffer ------------------------------------------------------------------

/** Meta's webhook path (and anything under it): buffered at the edge while the app cannot take it. */
export const WEBHOOK_PATH = "/webhooks/meta";

/** Meta's signature header: `sha256=<hex HMAC-SHA256 of the raw body with the app secret>`. */
export const SIGNATURE_HEADER = "x-hub-signature-256";

/** Response header on a buffered delivery's 200: the delivery id given at the edge. */
export const BUFFERED_HEADER = "x-drp-buffered";

/** Body the Worker answers a buffered delivery with: what Meta's own examples answer. */
export const EVENT_RECEIVED = "EVENT_RECEIVED";

/** Headers on a replayed delivery, besides the original signature and content type. */
export const REPLAY_HEADERS = {
  /** "1" on every replay: the app can tell a replay from a live delivery. */
  replayed: "x-drp-replayed",
  /** ISO 8601 time the edge accepted the delivery: the app orders by it. */
  receivedAt: "x-drp-received-at",
  /** Unique id given at the edge: the app dedupes by it (the queue delivers at least once). */
  deliveryId: "x-drp-delivery-id",
  /** 1 for the first replay attempt. */
  attempt: "x-drp-replay-attempt",
} as const;

/**
 * Cloudflare Queues limits (developers.cloudflare.com/queues/platform/limits): a message is at most 128 KB
 * (1 KB = 1000 bytes) including about 100 bytes of metadata; at most 100 retries; batches of at most 100
 * messages and 60 s wait; retention configurable up to 14 days; delaySeconds up to 24 hours.
 */
export const QUEUE_LIMITS = {
  messageBytes: 128_000,
  maxRetries: 100,
  maxBatchSize: 100,
  maxBatchWaitSeconds: 60,
  maxRetentionSeconds: 14 * 24 * 3600,
  maxDelaySeconds: 24 * 3600,
} as const;

/**
 * Largest webhook body the edge buffers: the message limit less room for the headers kept with it and the
 * queue's metadata. A larger body is answered 503 (Meta retries it later), never dropped or truncated.
 */
export const MAX_BUFFERED_BODY_BYTES = QUEUE_LIMITS.messageBytes - 2_000;

/**
 * Names of the edge's two queues, derived from the Worker's script name. We keep them to at most 63
 * lowercase letters, digits and hyphens (a conservative rule: Cloudflare's documented limits page gives
 * none for names), so an odd project name fails at synth rather than at deploy.
 */
export function webhookQueueNames(scriptName: string): Record<WebhookQueueRole, string> {
  const names = { buffer: `${scriptName}-meta-webhooks`, deadLetter: `${scriptName}-meta-webhooks-dlq` };
  for (const n of Object.values(names))
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n))
      throw new Error(`queue name "${n}" (from the Worker script name "${scriptName}") must be at most 63 lowercase letters, digits and hyphens; shorten the project name`);
  return names;
}

/** How the edge stack configures the buffer's consumer (the same Worker) and both queues; local runs use the same values. */
export const REPLAY_CONSUMER = {
  /** Up to 100 deliveries per invocation: a backlog drains in few invocations. */
  batchSize: QUEUE_LIMITS.maxBatchSize,
  /** A lone delivery is replayed within a second. */
  maxWaitTimeMs: 1_000,
  /** Attempts before the queue moves a delivery to the dead-letter queue: the most Cloudflare allows. */
  maxRetries: QUEUE_LIMITS.maxRetries,
  /** Both queues keep messages as long as Cloudflare allows. */
  retentionSeconds: QUEUE_LIMITS.maxRetentionSeconds,
  /** Concurrent origin requests per batch (a Worker invocation may hold 6 connections open). */
  concurrency: 6,
} as const;

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

/** Whole seconds from 0 to Cloudflare's 24-hour delay limit; absent or empty means `fallback`. */
export function parseDelaySeconds(name: "REPLAY_RETRY_DELAY_SECONDS" | "REPLAY_MAX_DELAY_SECONDS", raw: string | undefined): Parsed<number> {
  const v = (raw ?? "").trim();
  if (v === "") return { ok: true, value: Number(WORKER_BINDINGS[name].default) };
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 0 && n <= QUEUE_LIMITS.maxDelaySeconds)) return { ok: false, error: `${name}="${raw}" must be a whole number of seconds from 0 to ${QUEUE_LIMITS.maxDelaySeconds}` };
  return { ok: true, value: n };
}

/** Delay before replay attempt `attempts + 1`: doubles from `first` per attempt, capped at `max`. */
export function replayDelaySeconds(attempts: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(Math.max(attempts - 1, 0), 20));
}

/** A usable bypass token: at least BYPASS_TOKEN_MIN_LENGTH printable ASCII characters, no spaces; empty disables the bypass. */
export function parseBypassToken(raw: string | undefined): Parsed<string | null> {
  const v = raw ?? "";
  if (v === "") return { ok: true, value: null };
  if (!/^[\x21-\x7e]+$/.test(v)) return { ok: false, error: "BYPASS_TOKEN contains spaces or non-printable characters (check for a trailing newline); the bypass is disabled" };
  if (v.length < BYPASS_TOKEN_MIN_LENGTH) return { ok: false, error: `BYPASS_TOKEN has ${v.length} characters, fewer than ${BYPASS_TOKEN_MIN_LENGTH}; the bypass is disabled` };
  return { ok: true, value: v };
}

/** Empty means none; otherwise a lowercase DNS hostname. */
export function parseHostname(raw: string | undefined): Parsed<string | null> {
  const v = (raw ?? "").trim();
  if (v === "") return { ok: true, value: null };
  if (!/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/.test(v)) return { ok: false, error: `MAINTENANCE_HOSTNAME="${raw}" must be a lowercase hostname such as maintenance.example.com, or empty` };
  return { ok: true, value: v };
}

export type PlainTextValues = { readonly [K in PlainTextBindingName]?: string };

/**
 * The plain-text bindings to deploy, in WORKER_BINDINGS order with defaults filled in, after validating
 * every value; throws once listing every bad one. The secret binding is left to the caller, whose value
 * comes from Secrets Manager.
 */
export function plainTextBindings(values: PlainTextValues = {}): { name: PlainTextBindingName; type: "plain_text"; text: string }[] {
  const errors: string[] = [];
  const check = (p: Parsed<unknown>) => {
    if (!p.ok) errors.push(p.error);
  };
  check(parseMaintenance(values.MAINTENANCE));
  check(parseOriginUrl(values.ORIGIN_URL));
  check(parseOriginTimeoutMs(values.ORIGIN_TIMEOUT_MS));
  check(parseHostname(values.MAINTENANCE_HOSTNAME));
  check(parseDelaySeconds("REPLAY_RETRY_DELAY_SECONDS", values.REPLAY_RETRY_DELAY_SECONDS));
  check(parseDelaySeconds("REPLAY_MAX_DELAY_SECONDS", values.REPLAY_MAX_DELAY_SECONDS));
  if (errors.length) throw new Error(`invalid maintenance Worker bindings:\n  ${errors.join("\n  ")}`);
  const out: { name: PlainTextBindingName; type: "plain_text"; text: string }[] = [];
  for (const [name, spec] of Object.entries(WORKER_BINDINGS) as [BindingName, BindingSpec][]) {
    if (spec.type !== "plain_text") continue;
    const given = values[name as PlainTextBindingName];
    out.push({ name: name as PlainTextBindingName, type: "plain_text", text: (given ?? spec.default ?? "").trim() });
  }
  return out;
}
