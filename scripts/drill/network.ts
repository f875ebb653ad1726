/**
 * The drill's two pieces of plumbing, both on loopback:
 * - the database endpoint: a TCP proxy (the chaos runner's fault proxy) that stands for Supabase's
 *   connection string, which stays the same when a point-in-time recovery restores the project in place;
 *   the drill points it at the recovered server, and refuses connections while the restore runs (the
 *   project is down meanwhile);
 * - the load balancer: Cloudflare's pools in order (primary first, failover puts the standby first), each
 *   with a health monitor; with no healthy pool, the fallback answers 503 as the maintenance origin would.
 */
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { REPLAY_HEADERS } from "../../constructs/maintenance-page/bindings";
import { startFaultProxy } from "../chaos/fault-proxy";

export interface DatabaseEndpoint {
  readonly port: number;
  urlFor(database: string): string;
  /** Sends new connections to this server port and drops the open ones; null refuses every connection. */
  pointAt(port: number | null): void;
  stop(): Promise<void>;
}

export async function startDatabaseEndpoint(initial: number): Promise<DatabaseEndpoint> {
  // The chaos runner's switchable proxy: refusing is its "refuse" fault, repointing drops what is open.
  const proxy = await startFaultProxy(`http://127.0.0.1:${initial}`);
  return {
    port: proxy.port,
    urlFor: (db) => `postgresql://postgres@127.0.0.1:${proxy.port}/${db}`,
    pointAt(p) {
      if (p === null) return proxy.inject({ kind: "refuse" });
      proxy.retarget(p);
      proxy.rollback();
    },
    stop: () => proxy.stop(),
  };
}

export interface Pool {
  readonly name: string;
  readonly url: string;
}

export interface LoadBalancer {
  readonly url: string;
  /** Pools in failover order: the first healthy one serves. */
  setPools(pools: readonly Pool[]): void;
  /** Runs the monitors once now (the drill does not wait for the next interval after a change). */
  probe(): Promise<void>;
  /** Name of the pool that serves now, or null (fallback: maintenance). */
  serving(): string | null;
  stop(): Promise<void>;
}

/**
 * `holdReplays`: while it returns true, replayed webhooks are answered 503 so the buffer keeps them. On
 * Cloudflare the deployed (maintenance) Worker's own consumer holds them; locally the consumer is always
 * the open version's code (see startSwitchableEdge), so this is where the hold is applied.
 */
export async function startLoadBalancer(pools: readonly Pool[], healthPath: string, intervalMs: number, holdReplays: () => boolean = () => false): Promise<LoadBalancer> {
  let order = [...pools];
  const healthy = new Map<string, boolean>();
  const probe = async () => {
    await Promise.all(
      order.map(async (p) => {
        try {
          const r = await fetch(`${p.url}${healthPath}`, { signal: AbortSignal.timeout(Math.max(500, intervalMs)) });
          healthy.set(p.name, r.ok);
          await r.body?.cancel();
        } catch {
          healthy.set(p.name, false);
        }
      }),
    );
  };
  await probe();
  const timer = setInterval(() => void probe(), intervalMs);
  const serving = () => order.find((p) => healthy.get(p.name))?.name ?? null;
  const server = createHttpServer((req, res) => {
    if (holdReplays() && req.headers[REPLAY_HEADERS.replayed] === "1") {
      res.writeHead(503, { "content-type": "text/plain" }).end("replay held: maintenance is on");
      req.resume();
      return;
    }
    const pool = order.find((p) => p.name === serving());
    if (!pool) {
      res.writeHead(503, { "content-type": "text/plain" }).end("no healthy pool: fallback");
      req.resume();
      return;
    }
    const target = new URL(req.url ?? "/", pool.url);
    const up = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end("origin unreachable");
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setPools(p) {
      order = [...p];
    },
    probe,
    serving,
    stop() {
      clearInterval(timer);
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
