/**
 * A local HTTP server speaking the AWS FIS REST/JSON protocol (the wire format @aws-sdk/client-fis uses) for
 * the calls `drp chaos run --cloud` makes: GET /experimentTemplates (with tags), POST /experiments
 * (StartExperiment), GET /experiments/{id} (GetExperiment), DELETE /experiments/{id} (StopExperiment).
 * moto 5.2 implements only template create/delete and tags, not experiments, hence this harness. Each
 * started experiment walks through `state.script` (one status per GetExperiment; the last repeats);
 * StopExperiment moves it to "stopping" and then "stopped". Every request is recorded.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FisTemplate {
  readonly id: string;
  readonly description?: string;
  readonly tags: Record<string, string>;
}

export interface RecordedFisRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly authorization: string | undefined;
}

export interface FakeFisState {
  templates: FisTemplate[];
  /** Statuses each new experiment reports, one per GetExperiment after the start ("initiating" at start). */
  script: { status: string; reason?: string }[];
  /** Templates listed per page (exercises nextToken). */
  pageSize: number;
  /** When set, StartExperiment answers 400 ValidationException with this message. */
  startError?: string;
}

export interface FakeFis {
  readonly url: string;
  readonly requests: RecordedFisRequest[];
  readonly state: FakeFisState;
  /** Experiments started, by id, with their current status. */
  readonly experiments: Map<string, { templateId: string; status: string; tags: Record<string, string>; stopped: boolean }>;
  stop(): Promise<void>;
}

export async function startFakeFis(initial: Partial<FakeFisState> = {}): Promise<FakeFis> {
  const state: FakeFisState = { templates: [], script: [{ status: "running" }, { status: "completed" }], pageSize: 1, ...initial };
  const requests: RecordedFisRequest[] = [];
  const experiments: FakeFis["experiments"] = new Map();
  const reads = new Map<string, number>();
  const started = new Map<string, number>();
  let seq = 0;
  const view = (id: string) => {
    const e = experiments.get(id)!;
    const step = e.stopped ? undefined : state.script[Math.min((reads.get(id) ?? 0) - 1, state.script.length - 1)];
    const terminal = ["completed", "stopped", "failed", "cancelled"].includes(e.status);
    return {
      id,
      arn: `arn:aws:fis:us-east-1:123456789012:experiment/${id}`,
      experimentTemplateId: e.templateId,
      roleArn: "arn:aws:iam::123456789012:role/chaos",
      state: { status: e.status, ...(step?.reason ? { reason: step.reason } : e.stopped ? { reason: "Experiment stopped by user." } : {}) },
      creationTime: started.get(id)! / 1000,
      startTime: started.get(id)! / 1000,
      ...(terminal ? { endTime: Date.now() / 1000 } : {}),
      tags: e.tags,
    };
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const url = new URL(req.url ?? "/", "http://fis");
      requests.push({ method: req.method ?? "", path: url.pathname + url.search, body, authorization: req.headers.authorization });
      const send = (status: number, value: unknown, errorType?: string) => {
        res.writeHead(status, { "content-type": "application/json", ...(errorType ? { "x-amzn-errortype": errorType } : {}) });
        res.end(JSON.stringify(value));
      };
      if (req.method === "GET" && url.pathname === "/experimentTemplates") {
        const from = Number(url.searchParams.get("nextToken") ?? "0");
        const page = state.templates.slice(from, from + state.pageSize);
        const next = from + state.pageSize < state.templates.length ? String(from + state.pageSize) : undefined;
        return send(200, {
          experimentTemplates: page.map((t) => ({ id: t.id, arn: `arn:aws:fis:us-east-1:123456789012:experiment-template/${t.id}`, description: t.description ?? "", creationTime: 1_700_000_000, lastUpdateTime: 1_700_000_000, tags: t.tags })),
          ...(next ? { nextToken: next } : {}),
        });
      }
      if (req.method === "POST" && url.pathname === "/experiments") {
        if (state.startError) return send(400, { message: state.startError }, "ValidationException");
        const b = body as { experimentTemplateId?: string; clientToken?: string; tags?: Record<string, string> };
        if (!b?.clientToken || !state.templates.some((t) => t.id === b.experimentTemplateId))
          return send(404, { message: `Experiment template ${b?.experimentTemplateId} not found` }, "ResourceNotFoundException");
        const id = `EXP${String(++seq).padStart(14, "0")}`;
        experiments.set(id, { templateId: b.experimentTemplateId!, status: "initiating", tags: b.tags ?? {}, stopped: false });
        started.set(id, Date.now());
        return send(200, { experiment: view(id) });
      }
      const m = /^\/experiments\/([^/]+)$/.exec(url.pathname);
      if (m && experiments.has(m[1])) {
        const id = m[1];
        const e = experiments.get(id)!;
        if (req.method === "GET") {
          if (e.stopped) e.status = "stopped";
          else {
            const n = (reads.get(id) ?? 0) + 1;
            reads.set(id, n);
            e.status = state.script[Math.min(n - 1, state.script.length - 1)].status;
          }
          return send(200, { experiment: view(id) });
        }
        if (req.method === "DELETE") {
          e.stopped = true;
          e.status = "stopping";
          return send(200, { experiment: view(id) });
        }
      }
      if (m) return send(404, { message: `Experiment ${m[1]} not found` }, "ResourceNotFoundException");
      send(404, { message: `no route ${req.method} ${url.pathname}` }, "ResourceNotFoundException");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    state,
    experiments,
    stop() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
