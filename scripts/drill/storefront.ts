/**
 * The drill's stand-in for the app: a small storefront over PostgreSQL with what the plan touches: health,
 * a page, an API read, order placement and Meta's comment webhook (X-Hub-Signature-256 verified with the
 * app secret, each comment stored once by its id, so replays and Meta's own retries are harmless).
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

export interface StorefrontOptions {
  readonly name: string;
  /** Database the app uses (through the drill's database endpoint). */
  readonly databaseUrl: string;
  readonly appSecret: string;
  readonly port?: number;
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
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          await client.query("INSERT INTO orders (ref, sku, qty) VALUES ($1, $2, $3)", [order.ref, order.sku, order.qty]);
          await client.query("INSERT INTO order_states (order_ref, state) VALUES ($1, 'placed')", [order.ref]);
          await client.query("INSERT INTO audit_logs (action, detail) VALUES ('order.placed', $1)", [order.ref]);
          await client.query("COMMIT");
        } catch (e) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw e;
        } finally {
          client.release();
        }
        return json(res, 201, { ref: order.ref, origin: o.name });
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
