/**
 * The drill's stand-in for the app: a small storefront over PostgreSQL with what the plan touches: health,
 * a page, an API read, order placement and Meta's comment webhook (X-Hub-Signature-256 verified with the
 * app secret, each comment stored once by its id, so replays and Meta's own retries are harmless).
 * With its dependencies configured (the chaos scenarios), it also does what the real app must do when
 * they fail: a comment's AI reply has a deadline and a fallback, and at most AI_MAX_IN_FLIGHT calls wait
 * at once (a waiting call holds no thread, so other sellers are never queued behind it); checkout stores
 * the order first, then asks the payment gateway with a deadline, and offers bank transfer when it
 * fails, refuses or does not answer in time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "pg";
import { REPLAY_HEADERS, SIGNATURE_HEADER } from "../../constructs/maintenance-page/bindings";

export const STOREFRONT_SCHEMA = `
CREATE TABLE IF NOT EXISTS products (sku text PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, ref text UNIQUE NOT NULL, sku text NOT NULL REFERENCES products, qty int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS order_states (order_ref text NOT NULL, state text NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS audit_logs (id bigserial PRIMARY KEY, action text NOT NULL, detail text NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS comments (comment_id text PRIMARY KEY, post_id text NOT NULL, message text NOT NULL, received_at timestamptz NOT NULL DEFAULT now(), replayed boolean NOT NULL DEFAULT false);
INSERT INTO products VALUES ('LIVE-001', 'Polera', 1990000), ('LIVE-002', 'Zapatillas', 4990000) ON CONFLICT DO NOTHING;
`;

export interface Storefront {
  readonly url: string;
  readonly name: string;
  stop(): Promise<void>;
}

/** Production deadlines and limits of the app's calls to its dependencies (the chaos runner scales them). */
export const AI_TIMEOUT_MS = 5_000;
export const AI_MAX_IN_FLIGHT = 64;
export const PAYMENT_TIMEOUT_MS = 5_000;
/** What a seller's customer reads when the AI cannot answer in time. */
export const AI_FALLBACK_REPLY = "¡Gracias por tu comentario! Te respondemos en un momento por mensaje directo.";
export const BANK_TRANSFER = { bank: "Banco Estado", account: "LiveStreamSell SpA 12345678", rut: "76.123.456-7" } as const;

export interface StorefrontOptions {
  readonly name: string;
  /** Database the app uses (through the drill's database endpoint). */
  readonly databaseUrl: string;
  readonly appSecret: string;
  readonly port?: number;
  /** The AI provider (OpenAI-compatible base URL): enables GET /api/reply. */
  readonly ai?: { readonly url: string; readonly timeoutMs?: number; readonly maxInFlight?: number };
  /** The payment gateway's base URL: enables POST /api/checkout. */
  readonly payment?: { readonly url: string; readonly timeoutMs?: number };
  /** Deliberately missing safeguards, so a chaos experiment can be shown to fail. */
  readonly broken?: { readonly aiTimeout?: boolean; readonly bankTransferFallback?: boolean };
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(text);
}

const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, "application/json", JSON.stringify(value));

export function signatureValid(raw: Buffer, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const given = Buffer.from(header.slice(7), "hex");
  const want = createHmac("sha256", secret).update(raw).digest();
  return given.length === want.length && timingSafeEqual(given, want);
}

interface CommentChange {
  field?: string;
  value?: { comment_id?: string; post_id?: string; message?: string };
}

export async function startStorefront(o: StorefrontOptions): Promise<Storefront> {
  const pool = new Pool({ connectionString: o.databaseUrl, max: 8, connectionTimeoutMillis: 2000, idleTimeoutMillis: 1000 });
  pool.on("error", () => undefined); // a dropped connection is replaced on the next query
  let aiInFlight = 0;
  const answerComment = async (seller: string, comment: string): Promise<{ reply: string; source: "ai" | "fallback"; reason?: string }> => {
    const ai = o.ai!;
    if (aiInFlight >= (ai.maxInFlight ?? AI_MAX_IN_FLIGHT)) return { reply: AI_FALLBACK_REPLY, source: "fallback", reason: "too many AI calls waiting" };
    aiInFlight++;
    try {
      const r = await fetch(`${ai.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "system", content: `Vendedor ${seller}` }, { role: "user", content: comment }] }),
        ...(o.broken?.aiTimeout ? {} : { signal: AbortSignal.timeout(ai.timeoutMs ?? AI_TIMEOUT_MS) }),
      });
      if (!r.ok) {
        await r.body?.cancel();
        return { reply: AI_FALLBACK_REPLY, source: "fallback", reason: `AI provider answered ${r.status}` };
      }
      const b = (await r.json()) as { choices?: { message?: { content?: string } }[] };
      const text = b.choices?.[0]?.message?.content;
      return text ? { reply: text, source: "ai" } : { reply: AI_FALLBACK_REPLY, source: "fallback", reason: "AI provider answered no choice" };
    } catch (e) {
      const reason = (e as Error).name === "TimeoutError" ? `AI provider silent for ${ai.timeoutMs ?? AI_TIMEOUT_MS} ms` : `AI provider unreachable (${(e as Error).message})`;
      return { reply: AI_FALLBACK_REPLY, source: "fallback", reason };
    } finally {
      aiInFlight--;
    }
  };
  /** Asks the gateway; null means it failed, refused or did not answer in time. */
  const charge = async (ref: string, amountCents: number): Promise<string | null> => {
    const pay = o.payment!;
    try {
      const r = await fetch(`${pay.url}/payments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ order: ref, amount_cents: amountCents }),
        signal: AbortSignal.timeout(pay.timeoutMs ?? PAYMENT_TIMEOUT_MS),
      });
      if (!r.ok) {
        await r.body?.cancel();
        return null;
      }
      const b = (await r.json()) as { id?: string; status?: string };
      return b.status === "approved" && b.id ? b.id : null;
    } catch {
      return null;
    }
  };
  const placeOrder = async (ref: string, sku: string, qty: number, state: string) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO orders (ref, sku, qty) VALUES ($1, $2, $3)", [ref, sku, qty]);
      await client.query("INSERT INTO order_states (order_ref, state) VALUES ($1, $2)", [ref, state]);
      await client.query("INSERT INTO audit_logs (action, detail) VALUES ('order.placed', $1)", [ref]);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://storefront");
    try {
      if (req.method === "GET" && url.pathname === "/healthz") {
        await pool.query("SELECT 1");
        return json(res, 200, { ok: true, status: "healthy", origin: o.name });
      }
      if (req.method === "GET" && url.pathname === "/")
        return send(res, 200, "text/html; charset=utf-8", `<!doctype html><title>LiveStreamSell</title><h1>Tienda en vivo</h1><p>origin ${o.name}</p>`);
      if (req.method === "GET" && url.pathname === "/api/products") {
        const limit = Math.min(100, Math.max(1, Number(url.searchParams.get("limit")) || 10));
        const r = await pool.query("SELECT sku, name, price_cents FROM products ORDER BY sku LIMIT $1", [limit]);
        return json(res, 200, { products: r.rows });
      }
      if (req.method === "POST" && url.pathname === "/api/orders") {
        const order = JSON.parse((await body(req)).toString("utf8")) as { ref?: string; sku?: string; qty?: number };
        if (!order.ref || !order.sku || !Number.isInteger(order.qty)) return json(res, 400, { error: "ref, sku and qty are required" });
        await placeOrder(order.ref, order.sku, order.qty!, "placed");
        return json(res, 201, { ref: order.ref, origin: o.name });
      }
      if (req.method === "GET" && url.pathname === "/api/reply" && o.ai) {
        const comment = url.searchParams.get("comment");
        if (!comment) return json(res, 400, { error: "comment is required" });
        return json(res, 200, await answerComment(url.searchParams.get("seller") ?? "", comment));
      }
      if (req.method === "POST" && url.pathname === "/api/checkout" && o.payment) {
        const order = JSON.parse((await body(req)).toString("utf8")) as { ref?: string; sku?: string; qty?: number };
        if (!order.ref || !order.sku || !Number.isInteger(order.qty) || order.qty! < 1) return json(res, 400, { error: "ref, sku and qty are required" });
        const price = await pool.query<{ price_cents: number }>("SELECT price_cents FROM products WHERE sku = $1", [order.sku]);
        if (price.rowCount === 0) return json(res, 400, { error: `unknown sku ${order.sku}` });
        const amount = price.rows[0].price_cents * order.qty!;
        // The order is stored before the gateway is asked: a gateway outage never loses it.
        await placeOrder(order.ref, order.sku, order.qty!, "awaiting_payment");
        const paymentId = await charge(order.ref, amount);
        if (paymentId) {
          await pool.query("INSERT INTO order_states (order_ref, state) VALUES ($1, 'paid')", [order.ref]);
          return json(res, 201, { ref: order.ref, payment: "card", status: "paid", paymentId });
        }
        if (o.broken?.bankTransferFallback) return json(res, 502, { ref: order.ref, error: "payment gateway unavailable" });
        await pool.query("INSERT INTO order_states (order_ref, state) VALUES ($1, 'awaiting_bank_transfer')", [order.ref]);
        return json(res, 201, { ref: order.ref, payment: "bank_transfer", instructions: { ...BANK_TRANSFER, reference: order.ref, amount_cents: amount } });
      }
      if (req.method === "POST" && url.pathname === "/webhooks/meta") {
        const raw = await body(req);
        if (!signatureValid(raw, req.headers[SIGNATURE_HEADER] as string | undefined, o.appSecret)) return send(res, 403, "text/plain", "bad signature");
        const event = JSON.parse(raw.toString("utf8")) as { entry?: { changes?: CommentChange[] }[] };
        const replayed = req.headers[REPLAY_HEADERS.replayed] === "1";
        for (const change of (event.entry ?? []).flatMap((e) => e.changes ?? [])) {
          const v = change.value;
          if (change.field !== "feed" || !v?.comment_id) continue;
          await pool.query("INSERT INTO comments (comment_id, post_id, message, replayed) VALUES ($1, $2, $3, $4) ON CONFLICT (comment_id) DO NOTHING", [
            v.comment_id,
            v.post_id ?? "",
            v.message ?? "",
            replayed,
          ]);
        }
        return send(res, 200, "text/plain", "EVENT_RECEIVED");
      }
      return json(res, 404, { error: "not found" });
    } catch (e) {
      return json(res, 503, { error: "unavailable", detail: (e as Error).message });
    }
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    name: o.name,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await pool.end().catch(() => undefined);
    },
  };
}
