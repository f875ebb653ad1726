/**
 * A TCP proxy on 127.0.0.1 that forwards to a real server (moto) and stalls mid-transfer: past a byte
 * budget it stops forwarding but keeps both sockets open, as a wedged NAT, load balancer or network does.
 * Two ways to stall:
 * - per connection: each connection (or each whose first request matches `match`, e.g. /partNumber=2\b/)
 *   forwards at most `upBytes` client->server and `downBytes` server->client, then goes silent in that
 *   direction (every retry on a new connection stalls again);
 * - once: when `freezeAfterUpBytes` bytes in total have gone client->server, the connections open at
 *   that moment stop forwarding both ways; connections opened later pass untouched (an in-flight upload
 *   hangs, while a fresh request, such as aborting that upload, gets through).
 */
import { connect, createServer, type Socket } from "node:net";

export interface StallProxyOptions {
  readonly targetPort: number;
  /** Only connections whose first bytes (the HTTP request line and headers) match get the budgets below. */
  readonly match?: RegExp;
  readonly upBytes?: number;
  readonly downBytes?: number;
  readonly freezeAfterUpBytes?: number;
}

export interface StallProxy {
  readonly port: number;
  readonly url: string;
  /** Connections that have stopped forwarding in at least one direction. */
  stalled(): number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections whose client side is still open. */
  open(): number;
  /** Connections whose first request matched `match`. */
  matched(): number;
  /** True once `freezeAfterUpBytes` was reached. */
  frozen(): boolean;
  stop(): Promise<void>;
}

export async function startStallProxy(opts: StallProxyOptions): Promise<StallProxy> {
  const sockets = new Set<Socket>();
  const stalledConnections = new Set<Socket>();
  let accepted = 0;
  let openClients = 0;
  let matched = 0;
  let totalUp = 0;
  let frozen = false;
  const live: { client: Socket; freeze: () => void }[] = [];

  const server = createServer((client) => {
    accepted++;
    openClients++;
    client.once("close", () => openClients--);
    const upstream = connect(opts.targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    let up = 0;
    let down = 0;
    let upOpen = true;
    let downOpen = true;
    // Decided on the connection's first bytes: budgets apply, or everything passes.
    let budgets: { up?: number; down?: number } | undefined;
    const stall = () => stalledConnections.add(client);
    const entry = {
      client,
      freeze: () => {
        upOpen = downOpen = false;
        stall();
      },
    };
    live.push(entry);

    /** Forwards what fits of `chunk` in `budget` (none: all of it); returns the bytes forwarded. */
    const forward = (chunk: Buffer, sent: number, budget: number | undefined, to: Socket): number => {
      const room = budget === undefined ? chunk.length : Math.max(0, budget - sent);
      const part = room >= chunk.length ? chunk : chunk.subarray(0, room);
      if (part.length) to.write(part);
      return part.length;
    };

    client.on("data", (chunk: Buffer) => {
      if (!upOpen) return;
      if (!budgets) {
        const hit = opts.match?.test(chunk.toString("latin1"));
        if (hit) matched++;
        budgets = !opts.match || hit ? { up: opts.upBytes, down: opts.downBytes } : {};
      }
      const n = forward(chunk, up, budgets.up, upstream);
      up += n;
      totalUp += n;
      if (n < chunk.length) {
        upOpen = false;
        stall();
      }
      if (opts.freezeAfterUpBytes !== undefined && !frozen && totalUp >= opts.freezeAfterUpBytes) {
        frozen = true;
        for (const c of live) if (!c.client.destroyed) c.freeze();
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!downOpen) return;
      const n = forward(chunk, down, budgets?.down, client);
      down += n;
      if (n < chunk.length) {
        downOpen = false;
        stall();
      }
    });
    // A side that closes closes the other, unless the data from that side has stalled: then its close
    // is stuck behind the data, as on a wedged network, and the other side keeps waiting.
    client.on("close", () => {
      if (upOpen) upstream.destroy();
    });
    upstream.on("close", () => {
      // end(), not destroy(): what was already forwarded still reaches a client that reads it later.
      if (downOpen) client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("stall proxy has no TCP address");
  return {
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    stalled: () => stalledConnections.size,
    accepted: () => accepted,
    open: () => openClients,
    matched: () => matched,
    frozen: () => frozen,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
