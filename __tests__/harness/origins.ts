/**
 * Real HTTP origins on loopback for the maintenance Worker and the smoke gate: node http servers on port 0.
 * Start them once per test file (beforeAll) and close them in afterAll.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { metaSignature } from "../../scripts/chaos/meta-comments";

export interface Origin {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** Requests received so far. */
  readonly hits: number;
  close(): Promise<void>;
}

/** `port`: listen on that port (to bring an origin back where a closed one was); default any free port. */
export async function startOrigin(handler: RequestListener, port = 0): Promise<Origin> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    get hits() {
      return hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Answers JSON describing the request it got; `/status/NNN...` answers with status NNN (3xx with a Location). */
export const echoHandler: RequestListener = (req, res) => {
  void readBody(req).then((body) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const m = /^\/status\/(\d{3})(\/|$)/.exec(url.pathname);
    const echo: Echo = { method: req.method ?? "", path: url.pathname, query: url.search, headers: req.headers, body };
    const status = m ? Number(m[1]) : 200;
    const location = status >= 300 && status < 400 ? { location: "/elsewhere" } : {};
    res.writeHead(status, { "content-type": "application/json", "x-origin": "echo", ...location });
    res.end(JSON.stringify(echo));
  });
};

/** What an origin's error page must never show a visitor. */
export const SECRET_ERROR_BODY = "Internal Server Error: password=hunter2 at Db.connect (/srv/app/db.js:42) STACKTRACE-LEAK";

/** A broken origin: every request gets `status` with a body full of internals. */
export function failingHandler(status = 500): RequestListener {
  return (req, res) => {
    req.resume();
    res.writeHead(status, { "content-type": "text/plain", "x-origin": "failing" });
    res.end(SECRET_ERROR_BODY);
  };
}

/** An origin that accepts the request and never answers (closed by Origin.close). */
export const hangingHandler: RequestListener = (req) => {
  req.resume();
};

/** Sends a first chunk, then holds the response open until `release()`: proves a proxy streams. */
export function streamingHandler(): { handler: RequestListener; release(): void } {
  const waiting: ServerResponse[] = [];
  return {
    handler: (req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first chunk\n");
      waiting.push(res);
    },
    release: () => {
      for (const res of waiting.splice(0)) res.end("last chunk\n");
    },
  };
}

/** A loopback URL nobody listens on: bound, then released. */
export async function closedPortUrl(): Promise<string> {
  const o = await startOrigin(() => undefined);
  await o.close();
  return o.url;
}

export interface AppOptions {
  /** Status of the API read (default 200). */
  apiStatus?: number;
  /** Delay before every answer, in ms. */
  delayMs?: number;
  /** What /healthz answers (default {"status":"ok",...}). */
  health?: unknown;
}

export const APP_API_PATH = "/api/products?limit=1";

/** A stand-in for the LiveStreamSell app: health endpoint, storefront HTML and an API read. */
export function appHandler(opts: AppOptions = {}): RequestListener {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    const go = () => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (opts.delayMs) setTimeout(go, opts.delayMs);
    else go();
  };
  return (req, res) => {
    req.resume();
    const path = new URL(req.url ?? "/", "http://app").pathname;
    if (path === "/healthz") return send(res, 200, "application/json", JSON.stringify(opts.health ?? { status: "ok", db: "ok", redis: "ok" }));
    if (path === "/") return send(res, 200, "text/html; charset=utf-8", "<!doctype html><title>LiveStreamSell AI</title><h1>Tienda</h1>");
    if (path === "/api/products") {
      const status = opts.apiStatus ?? 200;
      return send(res, status, "application/json", status < 400 ? JSON.stringify({ items: [{ id: 1, name: "Polera" }] }) : JSON.stringify({ error: "db down" }));
    }
    send(res, 404, "application/json", JSON.stringify({ error: "not found" }));
  };
}

/** `sha256=<hex>`: Meta's X-Hub-Signature-256 of a body with an app secret (the spike's own signer). */
export { metaSignature };

export interface WebhookDelivery {
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** The app's own check of X-Hub-Signature-256 with its app secret. */
  signatureValid: boolean;
}

export type WebhookAppMode = "up" | "fail" | "hang" | "refuse";

/**
 * The app's webhook endpoint: verifies Meta's signature with the app secret as the app does (403 if it is
 * wrong) and records every delivery. `mode`: "up" answers 200 EVENT_RECEIVED, "fail" 503, "hang" never
 * answers, "refuse" 400. Switch it while the test runs.
 */
export function webhookAppHandler(secret: string): { handler: RequestListener; deliveries: WebhookDelivery[]; mode: WebhookAppMode } {
  const state = {
    deliveries: [] as WebhookDelivery[],
    mode: "up" as WebhookAppMode,
    handler: ((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (state.mode === "hang") return;
        if (state.mode === "fail") {
          res.writeHead(503, { "content-type": "text/plain" });
          res.end("down");
          return;
        }
        const raw = Buffer.concat(chunks);
        const given = Buffer.from(String(req.headers["x-hub-signature-256"] ?? ""));
        const expected = Buffer.from(metaSignature(raw, secret));
        const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
        state.deliveries.push({ body: raw.toString("utf8"), headers: req.headers, signatureValid });
        const status = state.mode === "refuse" ? 400 : signatureValid ? 200 : 403;
        res.writeHead(status, { "content-type": "text/plain" });
        res.end(status === 200 ? "EVENT_RECEIVED" : "rejected");
      });
    }) as RequestListener,
  };
  return state;
}
