/** The fault proxy in front of a real loopback HTTP server: each fault, switching at runtime, rollback, stop. */
import { startFaultProxy, type FaultProxy } from "../../scripts/chaos/fault-proxy";
import { startOrigin, type Origin } from "../harness/origins";

let upstream: Origin;
let proxy: FaultProxy;
beforeAll(async () => {
  upstream = await startOrigin((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("upstream"));
  proxy = await startFaultProxy(upstream.url);
});
afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});
afterEach(() => proxy.rollback());
// A switch drops the open connections; the client learns of it on its next event-loop turn.
const settle = () => new Promise((r) => setTimeout(r, 50));

const get = async (timeoutMs = 3000) => {
  const t0 = Date.now();
  try {
    const r = await fetch(proxy.url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: await r.text(), ms: Date.now() - t0, error: null as string | null };
  } catch (e) {
    return { status: 0, body: "", ms: Date.now() - t0, error: ((e as Error).cause as Error | undefined)?.message ?? (e as Error).name };
  }
};

it("passes requests through while no fault is injected", async () => {
  expect(await get()).toMatchObject({ status: 200, body: "upstream" });
  expect(proxy.fault).toBeNull();
});

it("latency delays each new connection, then passes it through", async () => {
  await get(); // a keep-alive connection opened before the switch must not bypass it
  proxy.inject({ kind: "latency", ms: 600 });
  await settle();
  const r = await get();
  expect(r).toMatchObject({ status: 200, body: "upstream" });
  expect(r.ms).toBeGreaterThanOrEqual(550);
});

it("refuse resets each connection at once", async () => {
  proxy.inject({ kind: "refuse" });
  const r = await get();
  expect(r.status).toBe(0);
  expect(r.ms).toBeLessThan(1000);
});

it("blackhole accepts and never answers, until rolled back", async () => {
  proxy.inject({ kind: "blackhole" });
  const hits = upstream.hits;
  const r = await get(800);
  expect(r).toMatchObject({ status: 0, error: "TimeoutError" });
  expect(upstream.hits).toBe(hits);
  proxy.rollback();
  await settle();
  expect(await get()).toMatchObject({ status: 200 });
});

it("error answers every request with the status, without reaching the dependency", async () => {
  proxy.inject({ kind: "error", status: 503 });
  await settle();
  const hits = upstream.hits;
  expect(await get()).toMatchObject({ status: 503, body: "chaos fault\n" });
  expect(upstream.hits).toBe(hits);
});

it("refuses to front a host that is not loopback", async () => {
  await expect(startFaultProxy("http://10.0.0.1:80")).rejects.toThrow("the fault proxy only fronts loopback dependencies, not 10.0.0.1");
});

it("after stop, nothing listens on its port", async () => {
  const p = await startFaultProxy(upstream.url);
  await p.stop();
  await expect(fetch(p.url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
});

it("retarget sends new connections to another server, including a kept-alive client's next request", async () => {
  const other = await startOrigin((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("other"));
  try {
    expect(await get()).toMatchObject({ status: 200, body: "upstream" });
    proxy.retarget(Number(new URL(other.url).port));
    await settle();
    expect(await get()).toMatchObject({ status: 200, body: "other" });
  } finally {
    proxy.retarget(Number(new URL(upstream.url).port));
    await other.close();
  }
  await settle();
  expect(await get()).toMatchObject({ status: 200, body: "upstream" });
});
