/**
 * Spike generator benchmark (figures, not a test): runSpike against a minimal receiver (node http answering
 * 200 EVENT_RECEIVED) in a separate process, so the receiver does not share the generator's CPU. Nominal:
 * 5,000/min for 60 s, target schedule error <= 1% using under one core (the generator's process.cpuUsage
 * over wall time). Saturation: 50,000/min (10x), target achieved >= 50,000/min. Several rounds of each, with
 * median, min and max. With --ceiling, one 10 s run each at 20x, 40x and 80x shows where the generator (or
 * the receiver, on this machine) stops keeping up. Usage: npm run bench:chaos [-- --rounds N] [-- --quick
 * (15 s and 10 s runs)] [-- --ceiling]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { loadavg, cpus } from "node:os";
import { Command } from "commander";
import { runSpike, type SpikeResult } from "../chaos/spike";

const SECRET = "bench-app-secret-0123456789abcdef";
const NOMINAL_PER_MINUTE = 5_000;
const TARGETS = { scheduleErrorPct: 1, cores: 1, saturationFactor: 10 } as const;

const RECEIVER = `
const server = require("node:http").createServer((req, res) => {
  req.resume();
  req.on("end", () => { res.writeHead(200, { "content-type": "text/plain" }); res.end("EVENT_RECEIVED"); });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
process.on("SIGTERM", () => process.exit(0));
`;

async function startReceiver(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["-e", RECEIVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`receiver exited (${code}) before listening`)));
    child.stdout!.once("data", (d: Buffer) => resolve(d.toString("utf8").trim()));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

interface Round {
  readonly result: SpikeResult;
  readonly cores: number;
}

async function round(url: string, ratePerMinute: number, durationMs: number): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runSpike({ target: url, ratePerMinute, durationMs, secret: SECRET });
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return { result, cores: (cpu.user + cpu.system) / wallUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[], digits: number) =>
  `median ${median(xs).toFixed(digits)} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;

function line(label: string, r: Round): string {
  const s = r.result;
  return (
    `${label}: sent ${s.sent}, accepted ${s.accepted}, failed ${s.failed} (saturated ${s.failedBy.saturated}), achieved ${s.achievedPerMinute}/min, ` +
    `schedule error ${s.scheduleErrorPct}%, lateness p50/p99/max ${s.lateMs.p50}/${s.lateMs.p99}/${s.lateMs.max} ms, latency p99 ${s.latencyMs.p99} ms, ` +
    `generator CPU ${r.cores.toFixed(3)} cores`
  );
}

async function main(): Promise<void> {
  const o = new Command("bench:chaos")
    .option("--rounds <n>", "rounds per rate", (v) => Number.parseInt(v, 10), 3)
    .option("--quick", "shorter runs: 15 s nominal, 10 s saturation")
    .option("--ceiling", "then one 10 s run each at 20x, 40x and 80x the nominal rate")
    .parse()
    .opts<{ rounds: number; quick?: boolean; ceiling?: boolean }>();
  const nominalMs = o.quick ? 15_000 : 60_000;
  const saturationMs = o.quick ? 10_000 : 20_000;
  const saturationRate = NOMINAL_PER_MINUTE * TARGETS.saturationFactor;
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} (shared: figures are noisy)`);
  const receiver = await startReceiver();
  try {
    const nominal: Round[] = [];
    const saturation: Round[] = [];
    for (let i = 1; i <= o.rounds; i++) {
      nominal.push(await round(receiver.url, NOMINAL_PER_MINUTE, nominalMs));
      console.log(line(`nominal ${NOMINAL_PER_MINUTE}/min x ${nominalMs / 1000} s, round ${i}`, nominal.at(-1)!));
      saturation.push(await round(receiver.url, saturationRate, saturationMs));
      console.log(line(`10x ${saturationRate}/min x ${saturationMs / 1000} s, round ${i}`, saturation.at(-1)!));
    }
    const err = nominal.map((r) => r.result.scheduleErrorPct);
    const cores = nominal.map((r) => r.cores);
    const achieved = saturation.map((r) => r.result.achievedPerMinute);
    const satCores = saturation.map((r) => r.cores);
    const ok = {
      schedule: median(err) <= TARGETS.scheduleErrorPct,
      cpu: median(cores) < TARGETS.cores,
      saturation: median(achieved) >= saturationRate * (1 - TARGETS.scheduleErrorPct / 100),
    };
    const verdict = (b: boolean) => (b ? "ok" : "OVER target");
    console.log(`\nSpike generator, ${o.rounds} rounds each, load average now ${loadavg()[0].toFixed(2)}`);
    console.log(`  ${NOMINAL_PER_MINUTE}/min schedule error %: ${spread(err, 3)}  (target <= ${TARGETS.scheduleErrorPct}%) ${verdict(ok.schedule)}`);
    console.log(`  ${NOMINAL_PER_MINUTE}/min generator CPU, cores: ${spread(cores, 3)}  (target < ${TARGETS.cores}) ${verdict(ok.cpu)}`);
    console.log(`  ${saturationRate}/min achieved per minute: ${spread(achieved, 0)}  (target >= ${saturationRate} within ${TARGETS.scheduleErrorPct}%) ${verdict(ok.saturation)}`);
    console.log(`  ${saturationRate}/min schedule error %: ${spread(saturation.map((r) => r.result.scheduleErrorPct), 3)}; generator CPU, cores: ${spread(satCores, 3)}`);
    if (o.ceiling)
      for (const factor of [20, 40, 80]) console.log(line(`${factor}x ${NOMINAL_PER_MINUTE * factor}/min x 10 s`, await round(receiver.url, NOMINAL_PER_MINUTE * factor, 10_000)));
    if (!ok.schedule || !ok.cpu || !ok.saturation) process.exitCode = 1;
  } finally {
    receiver.child.kill("SIGTERM");
  }
}

void main().catch((e: unknown) => {
  console.error(`bench:chaos: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
