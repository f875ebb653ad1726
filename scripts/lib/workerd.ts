/**
 * Runs the bundled maintenance Worker locally in workerd (miniflare 4), exactly the code the edge deploys.
 * Several named instances with their own bindings share one workerd process; the first one can listen on
 * a loopback port. Used by `drp maintenance preview`, the Worker benchmark and the tests.
 */
import type { Readable } from "node:stream";
import type { Miniflare } from "miniflare";
import { WORKER_COMPATIBILITY_DATE, type WorkerEnv } from "../../constructs/maintenance-page/bindings";
import { bundleWorker } from "../../constructs/maintenance-page/bundle";

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
}

export async function startMaintenanceWorkers(instances: Record<string, WorkerEnv>, opts: StartOptions = {}): Promise<RunningWorkers> {
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
  const mf: Miniflare = new Miniflare({
    workers: Object.entries(instances).map(([name, bindings]) => ({
      name,
      modules: true,
      script: code,
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      bindings: Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined)) as Record<string, string>,
    })),
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
