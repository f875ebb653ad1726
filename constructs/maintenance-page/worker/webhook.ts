/**
 * Meta webhooks at the edge: signature check, the buffer message, the verification challenge and the
 * replay of one buffered delivery. The Worker's entry (./index) decides when each applies.
 */
import { MAX_BUFFERED_BODY_BYTES, REPLAY_HEADERS, SIGNATURE_HEADER, WEBHOOK_PATH } from "../bindings";

/** One buffered delivery as it travels on the queue (v8-serialized, so the body keeps its exact bytes). */
export interface BufferedWebhook {
  readonly v: 1;
  readonly id: string;
  /** ISO 8601 time the edge accepted it. */
  readonly receivedAt: string;
  /** Path and query it was posted to (under WEBHOOK_PATH). */
  readonly path: string;
  /** Full URL it was posted to: the replay target when ORIGIN_URL is empty. */
  readonly url: string;
  readonly contentType: string | null;
  readonly signature: string;
  readonly body: ArrayBuffer;
}

export function isWebhookPath(path: string): boolean {
  return path === WEBHOOK_PATH || path.startsWith(`${WEBHOOK_PATH}/`);
}

export function isBufferedWebhook(m: unknown): m is BufferedWebhook {
  const b = m as Partial<BufferedWebhook> | null;
  return (
    typeof b === "object" &&
    b !== null &&
    b.v === 1 &&
    typeof b.id === "string" &&
    typeof b.receivedAt === "string" &&
    typeof b.path === "string" &&
    isWebhookPath(b.path.split("?")[0]) &&
    typeof b.url === "string" &&
    typeof b.signature === "string" &&
    b.body instanceof ArrayBuffer
  );
}

// ---- signature ---------------------------------------------------------------------------------------

const encoder = new TextEncoder();
let hmacKey: { secret: string; key: Promise<CryptoKey> } | undefined;

function keyFor(secret: string): Promise<CryptoKey> {
  if (hmacKey?.secret !== secret)
    hmacKey = { secret, key: crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]) };
  return hmacKey.key;
}

export type SignatureCheck = "valid" | "missing" | "invalid";

/** X-Hub-Signature-256 against the raw body; crypto.subtle.verify compares in constant time. */
export async function checkSignature(header: string | null, body: ArrayBuffer, secret: string): Promise<SignatureCheck> {
  if (header === null || header.trim() === "") return "missing";
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return "invalid";
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(m[1].slice(2 * i, 2 * i + 2), 16);
  return (await crypto.subtle.verify("HMAC", await keyFor(secret), mac, body)) ? "valid" : "invalid";
}

export function tooLargeToBuffer(body: ArrayBuffer): boolean {
  return body.byteLength > MAX_BUFFERED_BODY_BYTES;
}

export function bufferedWebhook(request: Request, url: URL, body: ArrayBuffer): BufferedWebhook {
  return {
    v: 1,
    id: crypto.randomUUID(),
    receivedAt: new Date().toISOString(),
    path: `${url.pathname}${url.search}`,
    url: request.url,
    contentType: request.headers.get("content-type"),
    signature: request.headers.get(SIGNATURE_HEADER) ?? "",
    body,
  };
}

// ---- verification challenge ------------------------------------------------------------------------

/** What Meta may send as hub.challenge and we echo back: printable ASCII, bounded (text/plain, nosniff). */
const CHALLENGE = /^[\x21-\x7e]{1,256}$/;

/**
 * The answer to Meta's subscription check, or null when the request is no check (`hub.mode` is not
 * "subscribe"). Tokens compare by digest in constant time.
 */
export async function challengeAnswer(url: URL, verifyToken: string, equal: (a: string, b: string) => Promise<boolean>): Promise<Response | null> {
  const q = url.searchParams;
  if (q.get("hub.mode") !== "subscribe") return null;
  const token = q.get("hub.verify_token");
  const challenge = q.get("hub.challenge");
  const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };
  if (token === null || challenge === null || !CHALLENGE.test(challenge) || !(await equal(token, verifyToken)))
    return new Response("verification failed\n", { status: 403, headers });
  return new Response(challenge, { status: 200, headers });
}

// ---- replay --------------------------------------------------------------------------------------------

export type ReplayOutcome = { kind: "delivered"; status: number } | { kind: "refused"; status: number } | { kind: "down"; detail: string };

/** The replay request: original body and signature, plus the replay headers. */
export function replayRequest(m: BufferedWebhook, attempt: number, origin: URL | null): Request {
  let target = m.url;
  if (origin) {
    const base = origin.pathname.endsWith("/") ? origin.pathname.slice(0, -1) : origin.pathname;
    target = `${origin.origin}${base}${m.path}`;
  }
  const headers = new Headers({
    [SIGNATURE_HEADER]: m.signature,
    [REPLAY_HEADERS.replayed]: "1",
    [REPLAY_HEADERS.receivedAt]: m.receivedAt,
    [REPLAY_HEADERS.deliveryId]: m.id,
    [REPLAY_HEADERS.attempt]: String(attempt),
  });
  if (m.contentType !== null) headers.set("content-type", m.contentType);
  return new Request(target, { method: "POST", headers, body: m.body, redirect: "manual" });
}

/** 2xx-3xx delivered; 408, 429 and 5xx mean the app cannot take it yet; any other 4xx is a refusal. */
export function classify(status: number): ReplayOutcome["kind"] {
  if (status < 400) return "delivered";
  if (status >= 500 || status === 408 || status === 429) return "down";
  return "refused";
}
