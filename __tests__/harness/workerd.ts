/**
 * The bundled maintenance Worker running in workerd (miniflare 4). Several named instances, each with its
 * own bindings, share one workerd process; the first one can also listen on a loopback port.
 */
import { Miniflare } from "miniflare";
import type { Readable } from "node:stream";
import { bundleWorker } from "../../constructs/maintenance-page/bundle";
import { WORKER_COMPATIBILITY_DATE, type WorkerEnv } from "../../constructs/maintenance-page/bindings";

export interface Workers {
  /** Sends a request to the named instance (no network in between). */
  fetch(name: string, path: string, init?: RequestInit): Promise<Response>;
  /** Loopback URL of the first instance when started with `listen`. */
  readonly url: string | undefined;
  /** What the Worker wrote to its console (stdout and stderr), one entry per line. */
  readonly logs: string[];
  dispose(): Promise<void>;
}

export async function startWorkers(instances: Record<string, WorkerEnv>, opts: { listen?: boolean } = {}): Promise<Workers> {
  const { code } = bundleWorker();
  const logs: string[] = [];
  const collect = (stream: Readable) => {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      logs.push(...lines.filter((l) => l.trim() !== ""));
    });
  };
  const mf = new Miniflare({
    workers: Object.entries(instances).map(([name, bindings]) => ({
      name,
      modules: true,
      script: code,
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      bindings: Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined)) as Record<string, string>,
    })),
    ...(opts.listen ? { host: "127.0.0.1", port: 0 } : {}),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      collect(stdout);
      collect(stderr);
    },
  });
  const ready = await mf.ready;
  const fetchers = new Map<string, Awaited<ReturnType<Miniflare["getWorker"]>>>();
  return {
    async fetch(name, path, init) {
      let w = fetchers.get(name);
      if (!w) fetchers.set(name, (w = await mf.getWorker(name)));
      // miniflare's fetch speaks undici types; the runtime objects are the same WHATWG ones.
      return (await w.fetch(`https://app.livestreamsell.ai${path}`, init as never)) as unknown as Response;
    },
    url: opts.listen ? ready.origin : undefined,
    logs,
    dispose: () => mf.dispose(),
  };
}
