/**
 * The storefront's outside dependencies, as local stand-ins on loopback:
 * - the AI provider: an OpenAI-compatible `POST /v1/chat/completions` answering a short reply;
 * - the payment gateway (Flow/PayPal-like): `POST /payments` approving each payment.
 * Each counts the calls it answered, so a chaos journal can show what reached it.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandIn {
  readonly url: string;
  /** Requests answered so far. */
  readonly answered: number;
  stop(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        resolve(undefined);
      }
    });
  });
}

const reply = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
};

async function serve(route: (req: IncomingMessage, res: ServerResponse, body: unknown) => boolean): Promise<StandIn> {
  let answered = 0;
  const server = createServer(async (req, res) => {
    const body = await readJson(req);
    if (route(req, res, body)) answered++;
    else reply(res, 404, { error: { message: "not found" } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get answered() {
      return answered;
    },
    stop() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** OpenAI-compatible chat completions: echoes the last user message into a seller-style reply. */
export function startAiProvider(): Promise<StandIn> {
  return serve((req, res, body) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return false;
    const b = body as { model?: string; messages?: { role?: string; content?: string }[] } | undefined;
    if (!b || !Array.isArray(b.messages)) {
      reply(res, 400, { error: { message: "messages is required", type: "invalid_request_error" } });
      return true;
    }
    const last = b.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
    reply(res, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: b.model ?? "stand-in",
      choices: [{ index: 0, message: { role: "assistant", content: `¡Hola! Sobre "${last.slice(0, 80)}": sí, lo tenemos.` }, finish_reason: "stop" }],
    });
    return true;
  });
}

/** A payment gateway approving every well-formed payment. */
export function startPaymentGateway(): Promise<StandIn> {
  return serve((req, res, body) => {
    if (req.method !== "POST" || req.url !== "/payments") return false;
    const b = body as { order?: string; amount_cents?: number } | undefined;
    if (!b?.order || !Number.isInteger(b.amount_cents)) {
      reply(res, 400, { error: "order and amount_cents are required" });
      return true;
    }
    reply(res, 201, { id: `pay-${randomUUID()}`, order: b.order, status: "approved" });
    return true;
  });
}
