/**
 * A local HTTP server speaking the part of Render's REST API that the restore uses: trigger a deploy
 * (POST /v1/services/{id}/deploys, 201 with the deploy), retrieve it (GET .../deploys/{deployId}),
 * restart (POST /v1/services/{id}/restart), bearer auth, and 429 answers carrying Retry-After or
 * Ratelimit-Reset. Each service follows a scripted list of deploy statuses; every request is recorded.
 */
import { createServer, type Server } from "node:http";

export interface RenderRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
  readonly at: number;
}

export interface FakeRenderService {
  /** Statuses returned by successive reads of the newest deploy (the first on creation); the last repeats. */
  statuses: string[];
}

export interface FakeRenderState {
  services: Record<string, FakeRenderService>;
  /** The next N requests answer 429. */
  rateLimitNext: number;
  /** Headers of a 429: Retry-After seconds, or (when null) Ratelimit-Reset in epoch seconds this far ahead. */
  retryAfterSeconds: number | null;
}

export interface FakeRender {
  readonly url: string;
  readonly key: string;
  readonly requests: RenderRequest[];
  readonly state: FakeRenderState;
  stop(): Promise<void>;
}

export async function startFakeRender(opts: { key?: string } = {}): Promise<FakeRender> {
  const key = opts.key ?? "rnd_test_key_0123456789";
  const requests: RenderRequest[] = [];
  const state: FakeRenderState = { services: {}, rateLimitNext: 0, retryAfterSeconds: 1 };
  const deploys = new Map<string, { serviceId: string; reads: number; imageUrl: string; createdAt: string }>();
  let seq = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text || undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // recorded as text
      }
      const path = req.url ?? "";
      requests.push({ method: req.method ?? "", path, authorization: req.headers.authorization, body, at: Date.now() });
      const send = (status: number, value?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", "ratelimit-limit": "10", ...headers });
        res.end(value === undefined ? "" : JSON.stringify(value));
      };
      if (req.headers.authorization !== `Bearer ${key}`) return send(401, { message: "unauthorized" });
      if (state.rateLimitNext > 0) {
        state.rateLimitNext--;
        const headers: Record<string, string> =
          state.retryAfterSeconds !== null ? { "retry-after": String(state.retryAfterSeconds) } : { "ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 1) };
        return send(429, { message: "rate limit exceeded" }, { "ratelimit-remaining": "0", ...headers });
      }
      const m = /^\/v1\/services\/([^/]+)\/(deploys|restart)(?:\/([^/?]+))?$/.exec(path);
      if (!m) return send(404, { message: "not found" });
      const [, serviceId, what, deployId] = m;
      const service = state.services[serviceId];
      if (!service) return send(404, { message: "service not found" });
      const view = (id: string) => {
        const d = deploys.get(id)!;
        const status = service.statuses[Math.min(d.reads, service.statuses.length - 1)];
        d.reads++;
        return { id, status, trigger: "api", image: { ref: d.imageUrl }, createdAt: d.createdAt, finishedAt: status === "live" ? new Date().toISOString() : null };
      };
      if (req.method === "POST" && what === "restart" && !deployId) return send(200);
      if (req.method === "POST" && what === "deploys" && !deployId) {
        const imageUrl = (body as { imageUrl?: unknown } | undefined)?.imageUrl;
        if (typeof imageUrl !== "string") return send(400, { message: "imageUrl is required for image-backed services" });
        const id = `dep-${String(++seq).padStart(20, "0")}`;
        deploys.set(id, { serviceId, reads: 0, imageUrl, createdAt: new Date().toISOString() });
        return send(201, view(id));
      }
      if (req.method === "GET" && what === "deploys" && deployId) {
        if (deploys.get(deployId)?.serviceId !== serviceId) return send(404, { message: "deploy not found" });
        return send(200, view(deployId));
      }
      send(405, { message: "method not allowed" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, key, requests, state, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
