/**
 * Maintenance Worker benchmark (figures, not a test): the latency the bundled Worker adds in normal mode,
 * measured over loopback HTTP against calling the origin directly, plus requests/s and workerd CPU per
 * request. Sequential keep-alive requests after a warm-up, the two paths interleaved in rounds so drift
 * hits both alike. miniflare puts its own router Worker in front of ours, so the added figure is an
 * upper bound of what the Worker itself costs.
 * Usage: npm run bench:worker [-- --requests N] [-- --warmup N]
 */
import { readdirSync, readFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { Command } from "commander";
import { Miniflare, NoOpLog } from "miniflare";
import { startMaintenanceWorkers } from "../lib/workerd";

/** Target from the plan: the Worker adds at most this much at p50. */
const TARGET_P50_ADDED_MS = 1;
const ROUNDS = 10;

const BODY = JSON.stringify({ items: Array.from({ length: 10 }, (_, i) => ({ id: i, name: `producto ${i}`, price: 1990 + i })) });

function get(agent: Agent, base: string, path: string): Promise<number> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, agent, headers: { "accept-language": "es" } }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  rps: number;
}

function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), rps: (1000 * ms.length) / ms.reduce((a, b) => a + b, 0) };
}

/** CPU seconds used so far by this process's workerd children (from /proc, Linux only). */
function workerdCpuSeconds(): number | undefined {
  const tick = 100;
  let total: number | undefined;
  // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(")");
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    if (name === "workerd" && Number(fields[1]) === process.pid) total = (total ?? 0) + (Number(fields[11]) + Number(fields[12])) / tick;
  }
  return total;
}

function positive(flag: string) {
  return (v: string) => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1)) throw new Error(`${flag} must be a positive whole number`);
    return n;
  };
}

async function main(): Promise<void> {
  const opts = new Command("bench:worker")
    .option("--requests <n>", "measured requests per path", positive("--requests"), 4000)
    .option("--warmup <n>", "warm-up requests per path", positive("--warmup"), 500)
    .parse()
    .opts<{ requests: number; warmup: number }>();

  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  const normal = await startMaintenanceWorkers({ normal: { ORIGIN_URL: origin.url } }, { port: 0 });
  const maintenance = await startMaintenanceWorkers({ maintenance: { MAINTENANCE: "on" } }, { port: 0 });
  // The floor miniflare itself sets: a Worker that answers at once, served the same way.
  const empty = new Miniflare({ modules: true, script: 'export default { fetch() { return new Response("ok"); } };', host: "127.0.0.1", port: 0, log: new NoOpLog() });
  const emptyUrl = (await empty.ready).origin;
  const agents = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const paths: { name: string; base: string; agent: Agent; path: string }[] = [
    { name: "origin directly", base: origin.url, agent: agents[0], path: "/api/products?limit=10" },
    { name: "through the Worker (normal mode)", base: normal.url!, agent: agents[1], path: "/api/products?limit=10" },
    { name: "maintenance page (MAINTENANCE=on)", base: maintenance.url!, agent: agents[2], path: "/" },
    { name: "empty Worker (miniflare's floor)", base: emptyUrl, agent: agents[3], path: "/" },
  ];
  try {
    for (const p of paths) for (let i = 0; i < opts.warmup; i++) await get(p.agent, p.base, p.path);
    const samples = paths.map(() => [] as number[]);
    const cpu = paths.map(() => 0);
    const perRound = Math.ceil(opts.requests / ROUNDS);
    for (let r = 0; r < ROUNDS; r++)
      for (const [i, p] of paths.entries()) {
        const before = workerdCpuSeconds() ?? NaN;
        for (let n = 0; n < perRound; n++) samples[i].push(await get(p.agent, p.base, p.path));
        cpu[i] += (workerdCpuSeconds() ?? NaN) - before;
      }

    const s = samples.map(stats);
    const added = { p50: s[1].p50 - s[0].p50, p95: s[1].p95 - s[0].p95 };
    const f = (n: number) => n.toFixed(3).padStart(8);
    const lines = [
      `Maintenance Worker benchmark: workerd (miniflare 4) on loopback, ${perRound * ROUNDS} sequential keep-alive requests per path after ${opts.warmup} warm-up`,
      `${"path".padEnd(36)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"req/s".padStart(8)}`,
      ...paths.map((p, i) => `${p.name.padEnd(36)} ${f(s[i].p50)} ${f(s[i].p95)} ${f(s[i].p99)} ${s[i].rps.toFixed(0).padStart(8)}`),
      "",
      `added by the Worker, p50: ${added.p50.toFixed(3)} ms (target <= ${TARGET_P50_ADDED_MS} ms: ${added.p50 <= TARGET_P50_ADDED_MS ? "ok" : "OVER"})`,
      `added by the Worker, p95: ${added.p95.toFixed(3)} ms`,
    ];
    const n = perRound * ROUNDS;
    if (!Number.isNaN(cpu[1]))
      lines.push(
        `workerd CPU per request (10 ms clock ticks; miniflare's router Worker and proxy included): ` +
          `normal mode ${((1e6 * cpu[1]) / n).toFixed(0)} us, maintenance page ${((1e6 * cpu[2]) / n).toFixed(0)} us, empty Worker ${((1e6 * cpu[3]) / n).toFixed(0)} us`,
      );
    process.stdout.write(`${lines.join("\n")}\n`);
    if (added.p50 > TARGET_P50_ADDED_MS) process.exitCode = 1;
  } finally {
    for (const a of agents) a.destroy();
    await Promise.all([normal.dispose(), maintenance.dispose(), empty.dispose()]);
    server.closeAllConnections();
    server.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:worker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
