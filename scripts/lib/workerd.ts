/**
 * Runs the bundled maintenance Worker locally in workerd (miniflare 4), exactly the code the edge deploys.
 * Several named instances with their own bindings share one workerd process; the first one can listen on
 * a loopback port. Each instance gets its own webhook buffer queue, consumed by itself with the consumer
 * settings the edge deploys, and its own dead-letter queue. Used by `drp maintenance preview`, the local
 * drill, the Worker benchmark and the tests.
 */
import type { Readable } from "node:stream";
import type { Miniflare } from "miniflare";
import { REPLAY_CONSUMER, WORKER_COMPATIBILITY_DATE, type WorkerTextEnv } from "../../constructs/maintenance-page/bindings";
import { bundleWorker } from "../../constructs/maintenance-page/bundle";

/** Local names of an instance's queues. */
export function localQueueNames(instance: string): { buffer: string; deadLetter: string } {
  return { buffer: `${instance}-meta-webhooks`, deadLetter: `${instance}-meta-webhooks-dlq` };
}

/** Prefix of the line the dead-letter inspector logs for each message it sees (with deadLetters: "log"). */
export const DEAD_LETTER_LOG_PREFIX = "dead-letter:";

// Stands in for an operator looking at the dead-letter queue: logs each message and acknowledges it.
const DEAD_LETTER_INSPECTOR = `export default { async queue(batch) { for (const m of batch.messages) {
  const b = m.body ?? {};
  console.log("${DEAD_LETTER_LOG_PREFIX} " + batch.queue + " " + (b.id ?? m.id) + " " + (b.path ?? "?") + " attempts=" + m.attempts);
  m.ack(); } } };`;

export interface RunningWorkers {
  /** Sends a request straight to the named instance, as if to https://app.livestreamsell.ai + path. */
  fetch(name: string, path: string, init?: RequestInit): Promise<Response>;
  /** Loopback origin (http://127.0.0.1:PORT) of the first instance, when started with `port`. */
  readonly url: string | undefined;
  /** What the Worker wrote to its console, one entry per line. */
  readonly logs: string[];
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** Listen on 127.0.0.1:port (0 picks a free port); omit to serve only through `fetch`. */
  readonly port?: number;
  /** Receives each console line as it is written (besides `logs`). */
  readonly onLog?: (line: string) => void;
  /**
   * What happens to dead-lettered webhooks: "log" (default) logs a `dead-letter:` line per message and
   * acknowledges it; "redrive" makes each instance consume its own dead-letter queue (an operator's
   * re-drive); "keep" leaves them in the queue.
   */
  readonly deadLetters?: "log" | "redrive" | "keep";
  /** Replay attempts before a webhook is dead-lettered (default: what the edge deploys, REPLAY_CONSUMER.maxRetries). */
  readonly maxRetries?: number;
  /**
   * Every instance produces to this instance's queues and only it consumes them: two deployed versions of
   * one Worker sharing one buffer, as on Cloudflare, where the queue outlives a redeploy of the script.
   */
  readonly sharedQueuesOf?: string;
}

export async function startMaintenanceWorkers(instances: Record<string, WorkerTextEnv>, opts: StartOptions = {}): Promise<RunningWorkers> {
  // Loaded on demand: miniflare is heavy, and most drp commands never need it.
  const { Miniflare, NoOpLog } = require("miniflare") as typeof import("miniflare");
  const { code } = bundleWorker();
  const logs: string[] = [];
  const collect = (stream: Readable) => {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines.filter((l) => l.trim() !== "")) {
        logs.push(line);
        opts.onLog?.(line);
      }
    });
  };
  const listen = opts.port !== undefined;
  const deadLetters = opts.deadLetters ?? "log";
  const consumer = {
    maxBatchSize: REPLAY_CONSUMER.batchSize,
    maxBatchTimeout: REPLAY_CONSUMER.maxWaitTimeMs / 1000,
    maxRetries: opts.maxRetries ?? REPLAY_CONSUMER.maxRetries,
  };
  const workers = Object.entries(instances).map(([name, bindings]) => {
    const q = localQueueNames(opts.sharedQueuesOf ?? name);
    const consumes = opts.sharedQueuesOf === undefined || opts.sharedQueuesOf === name;
    return {
      name,
      modules: true,
      script: code,
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      bindings: <Record<string, string>>{
        WEBHOOK_DEAD_LETTER_QUEUE_NAME: q.deadLetter,
        ...(Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined)) as Record<string, string>),
      },
      queueProducers: <Record<string, string>>{ WEBHOOK_QUEUE: q.buffer, WEBHOOK_DEAD_LETTERS: q.deadLetter },
      queueConsumers: <Record<string, typeof consumer>>(consumes
        ? { [q.buffer]: { ...consumer, deadLetterQueue: q.deadLetter }, ...(deadLetters === "redrive" ? { [q.deadLetter]: consumer } : {}) }
        : {}),
    };
  });
  if (deadLetters === "log")
    workers.push({
      name: "dead-letter-inspector",
      modules: true,
      script: DEAD_LETTER_INSPECTOR,
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      bindings: {} as Record<string, string>,
      queueProducers: {} as Record<string, string>,
      queueConsumers: Object.fromEntries([...new Set(Object.keys(instances).map((n) => opts.sharedQueuesOf ?? n))].map((n) => [localQueueNames(n).deadLetter, consumer])),
    });
  const mf: Miniflare = new Miniflare({
    workers,
    ...(listen ? { host: "127.0.0.1", port: opts.port } : {}),
    log: new NoOpLog(),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      collect(stdout);
      collect(stderr);
    },
  });
  let ready: URL;
  try {
    ready = await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => undefined);
    throw e;
  }
  const fetchers = new Map<string, Awaited<ReturnType<Miniflare["getWorker"]>>>();
  return {
    async fetch(name, path, init) {
      let w = fetchers.get(name);
      if (!w) fetchers.set(name, (w = await mf.getWorker(name)));
      // miniflare types its fetch with its own undici; the objects are the same WHATWG ones.
      return (await w.fetch(`https://app.livestreamsell.ai${path}`, init as never)) as unknown as Response;
    },
    url: listen ? ready.origin : undefined,
    logs,
    dispose: () => mf.dispose(),
  };
}

export interface EdgeWorkerOptions {
  /** Where the Worker forwards (and replays) to; empty or omitted: the request's own URL. */
  readonly originUrl?: string;
  /** MAINTENANCE=on (true) or off. */
  readonly maintenance: boolean;
  /** Meta app secret (META_APP_SECRET): webhooks are verified with it before they are buffered. */
  readonly appSecret?: string;
  /** Meta verify token (META_VERIFY_TOKEN): the Worker answers hub.challenge with it. */
  readonly verifyToken?: string;
  readonly bypassToken?: string;
  /** Any other text binding (ORIGIN_TIMEOUT_MS, REPLAY_RETRY_DELAY_SECONDS...). */
  readonly extra?: WorkerTextEnv;
  /** Loopback port (default 0, any free one). */
  readonly port?: number;
  readonly onLog?: (line: string) => void;
  readonly deadLetters?: StartOptions["deadLetters"];
}

export interface EdgeWorker {
  /** http://127.0.0.1:PORT, serving the Worker with its buffer queue and consumer. */
  readonly url: string;
  readonly logs: string[];
  dispose(): Promise<void>;
}

/** One production Worker with its queue and consumer on a loopback port: the preview and the local drill. */
export async function startEdgeWorker(o: EdgeWorkerOptions): Promise<EdgeWorker> {
  const env: WorkerTextEnv = {
    MAINTENANCE: o.maintenance ? "on" : "off",
    ...(o.originUrl ? { ORIGIN_URL: o.originUrl } : {}),
    ...(o.appSecret !== undefined ? { META_APP_SECRET: o.appSecret } : {}),
    ...(o.verifyToken !== undefined ? { META_VERIFY_TOKEN: o.verifyToken } : {}),
    ...(o.bypassToken !== undefined ? { BYPASS_TOKEN: o.bypassToken } : {}),
    ...o.extra,
  };
  const w = await startMaintenanceWorkers({ edge: env }, { port: o.port ?? 0, onLog: o.onLog, deadLetters: o.deadLetters });
  return { url: w.url!, logs: w.logs, dispose: () => w.dispose() };
}

export interface SwitchableEdge {
  /** http://127.0.0.1:PORT: the route, served by whichever version is deployed. */
  readonly url: string;
  readonly logs: string[];
  readonly maintenance: boolean;
  /** Deploys the other version (as `cdktf deploy edge -c maintenance=on|off` does); the buffer queue stays. */
  setMaintenance(on: boolean): void;
  dispose(): Promise<void>;
}

/**
 * The edge as the local drill deploys it: the production Worker loaded twice, MAINTENANCE=off ("open") and
 * on ("isolated"), both producing to one buffer queue that the open version consumes, behind a loopback
 * front door that routes every request to the deployed version. Switching versions keeps the queue, as a
 * redeploy does on Cloudflare (restarting workerd with new bindings would empty it). The consumer is
 * always the open version's code: while the origin is down its replays hold with backoff.
 */
export async function startSwitchableEdge(o: Omit<EdgeWorkerOptions, "maintenance" | "port">): Promise<SwitchableEdge> {
  const { createServer } = require("node:http") as typeof import("node:http");
  const base: WorkerTextEnv = {
    ...(o.originUrl ? { ORIGIN_URL: o.originUrl } : {}),
    ...(o.appSecret !== undefined ? { META_APP_SECRET: o.appSecret } : {}),
    ...(o.verifyToken !== undefined ? { META_VERIFY_TOKEN: o.verifyToken } : {}),
    ...(o.bypassToken !== undefined ? { BYPASS_TOKEN: o.bypassToken } : {}),
    ...o.extra,
  };
  const w = await startMaintenanceWorkers(
    { open: { ...base, MAINTENANCE: "off" }, isolated: { ...base, MAINTENANCE: "on" } },
    { onLog: o.onLog, deadLetters: o.deadLetters, sharedQueuesOf: "open" },
  );
  let deployed: "open" | "isolated" = "open";
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      try {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host") headers.set(k, v);
        const hasBody = req.method !== "GET" && req.method !== "HEAD";
        const r = await w.fetch(deployed, req.url ?? "/", { method: req.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined, redirect: "manual" });
        const out: Record<string, string> = {};
        r.headers.forEach((v, k) => (out[k] = v));
        res.writeHead(r.status, out);
        res.end(Buffer.from(await r.arrayBuffer()));
      } catch (e) {
        res.writeHead(502, { "content-type": "text/plain" }).end(`edge front door: ${(e as Error).message}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as import("node:net").AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    logs: w.logs,
    get maintenance() {
      return deployed === "isolated";
    },
    setMaintenance(on) {
      deployed = on ? "isolated" : "open";
    },
    async dispose() {
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
      await w.dispose();
    },
  };
}
