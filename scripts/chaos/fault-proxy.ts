/**
 * The local equivalent of an AWS FIS network action: a TCP proxy on 127.0.0.1 in front of one stand-in
 * dependency (the AI provider, the payment gateway, the origin), passing bytes through until a fault is
 * injected, and again after it is rolled back. Faults act on connections, as the network does:
 * - latency: each new connection waits before it reaches the dependency (FIS: network latency);
 * - refuse: each new connection is reset at once (a dependency that is down);
 * - blackhole: connections are accepted and never answered (FIS: packet loss of 100 %);
 * - error: each request is answered with an HTTP error status (a dependency that fails).
 * Switching (inject, rollback or retarget) drops the open connections, so a keep-alive connection opened before
 * the switch cannot bypass it. Rollback is synchronous, so it also runs from an exit handler.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export type Fault =
  | { readonly kind: "latency"; readonly ms: number }
  | { readonly kind: "refuse" }
  | { readonly kind: "blackhole" }
  | { readonly kind: "error"; readonly status: number };

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case "latency":
      return `latency ${f.ms} ms on every new connection`;
    case "refuse":
      return "connections refused (reset)";
    case "blackhole":
      return "connections accepted and never answered";
    case "error":
      return `every request answered HTTP ${f.status}`;
  }
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT: what the app is configured with instead of the dependency's own URL. */
  readonly url: string;
  readonly port: number;
  /** The fault in force, or null (passing through). */
  readonly fault: Fault | null;
  /** Connections accepted since start (evidence that traffic went through the proxy). */
  readonly connections: number;
  inject(fault: Fault): void;
  rollback(): void;
  /** Sends new connections to another loopback port and drops the open ones (the fault, if any, stays). */
  retarget(port: number): void;
  stop(): Promise<void>;
}

const REASON: Record<number, string> = { 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 429: "Too Many Requests" };

/** Starts a proxy to `target` (http://host:port of the dependency, loopback). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  if (t.hostname !== "127.0.0.1" && t.hostname !== "localhost") throw new Error(`the fault proxy only fronts loopback dependencies, not ${t.hostname}`);
  let upstreamPort = Number(t.port || (t.protocol === "https:" ? 443 : 80));
  let fault: Fault | null = null;
  let connections = 0;
  const open = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const track = (s: Socket) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => s.destroy());
  };
  const pipe = (client: Socket) => {
    if (client.destroyed) return;
    const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
    track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream).pipe(client);
  };
  const server: Server = createServer((client) => {
    connections++;
    track(client);
    const f = fault;
    if (!f) return pipe(client);
    switch (f.kind) {
      case "refuse":
        return void client.resetAndDestroy();
      case "blackhole":
        client.pause(); // read nothing, answer nothing, until a switch drops it
        return;
      case "error": {
        client.once("data", () => {
          client.end(`HTTP/1.1 ${f.status} ${REASON[f.status] ?? "Error"}\r\ncontent-type: text/plain\r\ncontent-length: 12\r\nconnection: close\r\n\r\nchaos fault\n`);
        });
        return;
      }
      case "latency": {
        client.pause();
        const timer = setTimeout(() => {
          timers.delete(timer);
          client.resume();
          pipe(client);
        }, f.ms);
        timers.add(timer);
        client.on("close", () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
    }
  });
  const dropAll = () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const s of open) s.destroy();
    open.clear();
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get fault() {
      return fault;
    },
    get connections() {
      return connections;
    },
    inject(f) {
      fault = f;
      dropAll();
    },
    rollback() {
      if (fault === null) return;
      fault = null;
      dropAll();
    },
    retarget(p) {
      upstreamPort = p;
      dropAll();
    },
    stop() {
      fault = null;
      dropAll();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
