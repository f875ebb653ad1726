/**
 * A local HTTP server speaking the Supabase Management API endpoints that PITR and the backup check use, recording every
 * request (method, path, authorization, body) so tests can assert exactly what drp sent. It models the project's
 * status over time (one status per read) and the API's rate limit (429, with or without Retry-After).
 */
import { createServer, type Server } from "node:http";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

export interface FakeSupabaseState {
  /** Body of GET /v1/projects/{ref}/database/backups. */
  backups: unknown;
  /** Body of GET /v1/projects/{ref}/billing/addons. */
  addons: unknown;
  /** Status of POST .../restore-pitr (201 per the spec). */
  restoreStatus: number;
  /** Statuses GET /v1/projects/{ref} returns, one per read (counted from when this list is assigned); the last repeats. */
  projectStatuses: string[];
  /** Makes the next N project reads after a restore request answer 503 (the API flaking while the project restores). */
  failProjectReads: number;
  /** Makes the next N requests (any endpoint) answer 429, as Supabase does past 60 requests a minute. */
  rateLimited: number;
  /** The Retry-After header of those 429s (seconds or an HTTP date); none when undefined. */
  retryAfter: string | undefined;
}

export interface Answer {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Date.now() when the answer was sent. */
  readonly at: number;
}

export interface FakeSupabase {
  readonly url: string;
  readonly token: string;
  readonly ref: string;
  readonly requests: RecordedRequest[];
  /** Every answer's status and time, in order (429s included). */
  readonly answers: Answer[];
  readonly state: FakeSupabaseState;
  stop(): Promise<void>;
}

export async function startFakeSupabase(opts: { token?: string; ref?: string } = {}): Promise<FakeSupabase> {
  const token = opts.token ?? "sbp_test_token_0123456789";
  const ref = opts.ref ?? "abcdefghijklmnopqrst";
  const requests: RecordedRequest[] = [];
  const answers: Answer[] = [];
  const state: FakeSupabaseState = {
    backups: {},
    addons: { selected_addons: [], available_addons: [] },
    restoreStatus: 201,
    projectStatuses: ["ACTIVE_HEALTHY"],
    failProjectReads: 0,
    rateLimited: 0,
    retryAfter: undefined,
  };
  let projectReads = 0;
  let statusList = state.projectStatuses;
  let restoreRequested = false;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // recorded as text
      }
      const path = req.url ?? "";
      requests.push({ method: req.method ?? "", path, authorization: req.headers.authorization, contentType: req.headers["content-type"], body });
      const send = (status: number, value?: unknown, headers: Record<string, string> = {}) => {
        answers.push({ method: req.method ?? "", path, status, at: Date.now() });
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(value === undefined ? "" : JSON.stringify(value));
      };
      if (state.rateLimited > 0) {
        state.rateLimited--;
        return send(429, { message: "Too many requests" }, state.retryAfter !== undefined ? { "retry-after": state.retryAfter } : {});
      }
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { message: "Unauthorized" });
      const base = `/v1/projects/${ref}`;
      if (!path.startsWith(`/v1/projects/`)) return send(404, { message: "Not found" });
      if (!path.startsWith(base)) return send(404, { message: "Project not found" });
      if (req.method === "GET" && path === `${base}/database/backups`) return send(200, state.backups);
      if (req.method === "GET" && path === `${base}/billing/addons`) return send(200, state.addons);
      if (req.method === "POST" && path === `${base}/database/backups/restore-pitr`) {
        restoreRequested ||= state.restoreStatus < 300;
        return send(state.restoreStatus, state.restoreStatus < 300 ? undefined : { message: "refused" });
      }
      if (req.method === "GET" && path === base) {
        if (state.projectStatuses !== statusList) {
          statusList = state.projectStatuses;
          projectReads = 0;
          restoreRequested = false;
        }
        if (restoreRequested && state.failProjectReads > 0) {
          state.failProjectReads--;
          return send(503, { message: "upstream unavailable" });
        }
        const status = statusList[Math.min(projectReads++, statusList.length - 1)];
        return send(200, { id: ref, ref, name: "livestreamsell", region: "sa-east-1", organization_id: "org", created_at: "2026-01-01T00:00:00Z", status });
      }
      send(404, { message: "Not found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    ref,
    requests,
    answers,
    state,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
