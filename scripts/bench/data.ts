/**
 * Benchmark of the data recovery path (npm run bench:data) against what a user would pick instead, on the
 * same moto S3 server and the same database:
 *   export:  drp export            vs  pg_dump -Fc | aws s3 cp - s3://...    and  pg_dump -Fc --file
 *   restore: drp restore           vs  aws s3 cp s3://... - | pg_restore --single-transaction
 *                                  and pg_restore --single-transaction FILE
 * Each round runs the three of a side back to back, the order reversed every round, and reports the
 * ratios drp/pipeline and drp/file of that round; the medians and min-max spread of those ratios are
 * compared with the targets (<= 1.0x the pipelines, <= 1.10x the pg tools with a file, peak RSS of drp
 * < 200 MB, by /usr/bin/time -v). drp runs with DRP_TIMINGS (scripts/lib/timings.ts), so the report
 * also says where drp's time outside the pg tools goes: start-up, snapshot, hashing, upload tail,
 * read-back, counts. Each run also reports the CPU time the whole machine spent during it (/proc/stat):
 * on a small machine the S3 server (moto) and PostgreSQL share the cores with the pg tools, and that
 * figure shows whether one side did more work or only waited longer.
 *
 * With --pin the client side (drp, the pg tools, aws) runs on CPU 0 and the servers (PostgreSQL, moto) on
 * the other CPUs: what the export task sees in production, one vCPU against remote servers.
 *
 * Options: --rows N (about N rows in all, default 1.2 M), --gb N (about N GB instead, e.g. --gb 1 for
 * 1.4 GiB), --rounds N (default 5). Figures on a shared machine are noisy: read the spread.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { startMoto } from "../../__tests__/harness/moto";
import { startPostgres } from "../../__tests__/harness/postgres";
import { pgToolPath } from "../lib/pg-tools";
import { formatBytes } from "../lib/progress";

const ROOT = join(__dirname, "..", "..");
const BUCKET = "livestreamsell-dr-bench";
const TARGETS = { pipeline: 1.0, file: 1.1, rssMB: 200 };
/** Rows per order in the generated data: the order, two states, half an audit entry. */
const ROWS_PER_ORDER = 3.5;

interface Timed {
  readonly seconds: number;
  /** CPU seconds the whole machine was busy during the run (every process: drp, the pg tools, PostgreSQL, moto, aws). */
  readonly machineCpu: number;
  /** Of machineCpu, what the S3 server (moto) and the PostgreSQL server (every backend) spent. */
  readonly s3Cpu: number;
  readonly pgCpu: number;
  readonly maxRssKiB: number;
  readonly stdout: string;
  /** Epoch ms when the process was spawned. */
  readonly spawnedAt: number;
}

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** CPU seconds all cores have been busy since boot (/proc/stat: every state but idle and iowait). */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return (total - fields[3] - fields[4]) / 100;
}

/** CPU seconds of a process and of the children it has waited for (utime + stime + cutime + cstime); 0 once it is gone. */
function processCpuSeconds(pid: number): number {
  try {
    // Fields after the command name "(...)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    return (f[11] + f[12] + f[13] + f[14]) / 100;
  } catch {
    return 0;
  }
}

/** The processes whose CPU the report separates: the S3 server, and PostgreSQL's postmaster with its backends. */
const servers = { moto: 0, postmaster: 0 };
/** With --pin: the CPU list (taskset) the measured commands run on. */
let clientCpus: string | undefined;

/** The processes whose parent is `parent` now. */
function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) pids.push(Number(entry));
    } catch {
      // exited while listed
    }
  }
  return pids;
}

/** CPU seconds of the PostgreSQL server: the postmaster, the backends it has reaped and the ones still running. */
function postgresCpuSeconds(): number {
  if (!servers.postmaster) return 0;
  return childrenOf(servers.postmaster).reduce((total, pid) => total + processCpuSeconds(pid), processCpuSeconds(servers.postmaster));
}

/** Runs a command under /usr/bin/time -v; wall time from here, peak RSS from time's report. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const busyBefore = machineBusySeconds();
    const s3Before = servers.moto ? processCpuSeconds(servers.moto) : 0;
    const pgBefore = postgresCpuSeconds();
    const spawnedAt = performance.timeOrigin + performance.now();
    const started = process.hrtime.bigint();
    const pinned = clientCpus ? ["taskset", "--cpu-list", clientCpus] : [];
    const child = spawn("/usr/bin/time", ["-v", ...pinned, cmd, ...args], { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stderr.slice(-3000)}`));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const s3Cpu = (servers.moto ? processCpuSeconds(servers.moto) : 0) - s3Before;
      resolve({ seconds, machineCpu: machineBusySeconds() - busyBefore, s3Cpu, pgCpu: postgresCpuSeconds() - pgBefore, maxRssKiB: rss ? Number(rss[1]) : NaN, stdout, spawnedAt });
    });
  });
}

/** A shell pipeline, failing if any stage fails. */
const pipeline = (script: string, env: NodeJS.ProcessEnv) => timed("/bin/bash", ["-o", "pipefail", "-c", script], env);
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function sql(url: string, text: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function scalar(url: string, text: string): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return String(Object.values((await c.query(text)).rows[0])[0]);
  } finally {
    await c.end();
  }
}

/** Shop-shaped data: text, numerics, jsonb, timestamps, with keys and indexes built after loading. */
async function generate(url: string, orders: number): Promise<number> {
  await sql(
    url,
    `CREATE TABLE orders (id bigint, customer_id int, status text, amount numeric(12,2), payload jsonb, comment text, created_at timestamptz);
     CREATE TABLE order_states (order_id bigint, state text, at timestamptz);
     CREATE TABLE audit_logs (id bigint, actor text, action text, detail jsonb);`,
  );
  const chunk = Math.min(500_000, orders);
  for (let from = 1; from <= orders; from += chunk) {
    const to = Math.min(orders, from + chunk - 1);
    await sql(
      url,
      `INSERT INTO orders SELECT g, g % 50000, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4], (g % 100000) / 100.0,
         jsonb_build_object('sku', 'SKU-' || (g % 9973), 'qty', 1 + g % 5, 'note', md5(g::text)),
         'comentário ' || md5((g * 31)::text) || ' ' || md5((g * 17)::text), timestamptz '2026-01-01' + make_interval(secs => g)
       FROM generate_series(${from}, ${to}) g;
       INSERT INTO order_states SELECT g, s, timestamptz '2026-01-01' + make_interval(secs => g + s_i)
         FROM generate_series(${from}, ${to}) g, unnest(ARRAY['new','paid']) WITH ORDINALITY AS u(s, s_i);
       INSERT INTO audit_logs SELECT g, 'bot-' || (g % 7), 'replied', jsonb_build_object('comment', md5((g * 3)::text), 'lang', 'es')
         FROM generate_series(${from}, ${to}, 2) g;`,
    );
    log(`  generated ${to.toLocaleString()} / ${orders.toLocaleString()} orders`);
  }
  await sql(
    url,
    `ALTER TABLE orders ADD PRIMARY KEY (id);
     ALTER TABLE audit_logs ADD PRIMARY KEY (id);
     CREATE INDEX order_states_order_idx ON order_states (order_id);
     CREATE INDEX orders_created_idx ON orders (created_at);`,
  );
  await sql(url, "VACUUM ANALYZE");
  return Number(await scalar(url, "SELECT pg_database_size(current_database())"));
}

/** The postmaster is the parent of every backend, e.g. this one. */
async function postmasterPid(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const backend = Number((await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
    const status = readFileSync(`/proc/${backend}/status`, "utf8");
    return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  } finally {
    await c.end();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[], digits = 2) => `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}]`;
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

function option(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!(v > 0)) throw new Error(`${name} must be a positive number (got ${args[i + 1]})`);
  return v;
}

interface DrpTimings {
  readonly timeOrigin: number;
  readonly marks: Record<string, number>;
  readonly totals: Record<string, number>;
}

interface DrpRun extends Timed {
  readonly timings: DrpTimings;
}

type Side = "drp" | "pipeline" | "file";
const SIDES: readonly Side[] = ["drp", "pipeline", "file"];

/** Seconds between two marks of a drp run ("spawn" and "exit" are the process's own ends). */
function between(run: DrpRun, from: string, to: string): number | undefined {
  const at = (m: string) =>
    m === "spawn" ? 0 : m === "exit" ? run.seconds * 1000 : run.timings.marks[m] === undefined ? undefined : run.timings.timeOrigin + run.timings.marks[m] - run.spawnedAt;
  const a = at(from);
  const b = at(to);
  return a === undefined || b === undefined ? undefined : (b - a) / 1000;
}

/** Median of each named figure over the runs that have it. */
function breakdown(runs: DrpRun[], figures: [string, (r: DrpRun) => number | undefined][]): string[] {
  return figures.flatMap(([name, f]) => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length ? [`    ${name.padEnd(44)} ${spread(xs)} s`] : [];
  });
}

/** Every step between consecutive marks, in the order reached, medians over the runs. */
function sequence(runs: DrpRun[]): string[] {
  const names = Object.entries(runs[0].timings.marks)
    .sort((a, b) => a[1] - b[1])
    .map(([n]) => n);
  const steps = ["spawn", ...names, "exit"];
  return steps.slice(1).map((to, i) => {
    const xs = runs.map((r) => between(r, steps[i], to)).filter((x): x is number => x !== undefined);
    return `    ${`${steps[i]} -> ${to}`.padEnd(44)} ${spread(xs)} s`;
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const gb = option(args, "--gb");
  const orders = Math.round(gb ? 3_000_000 * gb : (option(args, "--rows") ?? 1_200_000) / ROWS_PER_ORDER);
  const rounds = Math.round(option(args, "--rounds") ?? 5);
  const pin = args.includes("--pin");
  if (pin && cpus().length < 2) throw new Error("--pin needs at least 2 CPUs: one for the measured commands, the rest for the servers");

  log("starting PostgreSQL and moto");
  const [pg, moto] = await Promise.all([startPostgres({ settings: { max_wal_size: "8GB", maintenance_work_mem: "256MB", shared_buffers: "512MB" } }), startMoto()]);
  const work = mkdtempSync(join(tmpdir(), "drp-bench-"));
  try {
    await moto.createBucket(BUCKET);
    servers.moto = moto.pid ?? 0;
    servers.postmaster = await postmasterPid(pg.url);
    if (pin) {
      // Backends forked later and moto's new threads inherit the servers' CPUs.
      const serverCpus = `1-${cpus().length - 1}`;
      for (const pid of [servers.moto, servers.postmaster, ...childrenOf(servers.postmaster)])
        execFileSync("taskset", ["--all-tasks", "--cpu-list", "--pid", serverCpus, String(pid)], { stdio: "ignore" });
      clientCpus = "0";
      log(`pinned: the measured commands to CPU 0, PostgreSQL and moto to CPUs ${serverCpus}`);
    }
    const source = await pg.createDatabase("bench_source");
    log(`generating ${orders.toLocaleString()} orders (about ${Math.round(orders * ROWS_PER_ORDER).toLocaleString()} rows)`);
    const dbBytes = await generate(source, orders);
    const rows = Number(await scalar(source, "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_states) + (SELECT count(*) FROM audit_logs)"));
    log(`database size ${formatBytes(dbBytes)}, ${rows.toLocaleString()} rows`);
    const env = { ...process.env, ...moto.env, AWS_DEFAULT_REGION: moto.env.AWS_REGION, DATABASE_URL: source };
    const endpoint = moto.env.AWS_ENDPOINT_URL_S3;
    const aws = `aws --endpoint-url ${sh(endpoint)} s3 cp --only-show-errors`;
    const baseFile = join(work, "baseline.dump");
    const exports: Record<Side, Timed[]> = { drp: [], pipeline: [], file: [] };
    const restores: Record<Side, Timed[]> = { drp: [], pipeline: [], file: [] };
    const drpExports: DrpRun[] = [];
    const drpRestores: DrpRun[] = [];
    let dumpBytes = 0;
    let exportBytes = 0;
    let manifest = "";
    let pipeKey = "";

    const drpRun = async (cmd: string[], name: string): Promise<DrpRun> => {
      const file = join(work, `${name}.timings.json`);
      rmSync(file, { force: true });
      const run = await timed(process.execPath, ["bin/drp.cjs", ...cmd], { ...env, TMPDIR: work, DRP_TIMINGS: file });
      return { ...run, timings: JSON.parse(readFileSync(file, "utf8")) as DrpTimings };
    };
    const exportSide: Record<Side, (round: number) => Promise<Timed>> = {
      drp: async (round) => {
        const run = await drpRun(["export", "--bucket", BUCKET, "--prefix", `drp-${round}/`, "--critical-tables", "orders,order_states,audit_logs", "--json"], `export-${round}`);
        const out = JSON.parse(run.stdout) as { manifest: string; bytes: number };
        exportBytes = out.bytes;
        manifest = out.manifest;
        drpExports.push(run);
        return run;
      },
      pipeline: async (round) => {
        pipeKey = `pipe-${round}/db.dump`;
        return pipeline(`${sh(pgToolPath("pg_dump"))} --format=custom --no-password --dbname=${sh(source)} | ${aws} - ${sh(`s3://${BUCKET}/${pipeKey}`)}`, env);
      },
      file: async () => {
        rmSync(baseFile, { force: true });
        const run = await timed(pgToolPath("pg_dump"), ["--format=custom", "--no-password", `--file=${baseFile}`, `--dbname=${source}`]);
        dumpBytes = statSync(baseFile).size;
        return run;
      },
    };
    const restoreSide: Record<Side, (target: string, round: number) => Promise<Timed>> = {
      drp: async (target, round) => {
        const run = await drpRun(["restore", manifest, "--target", target, "--json"], `restore-${round}`);
        drpRestores.push(run);
        return run;
      },
      pipeline: (target) =>
        pipeline(`${aws} ${sh(`s3://${BUCKET}/${pipeKey}`)} - | ${sh(pgToolPath("pg_restore"))} --exit-on-error --single-transaction --no-password --dbname=${sh(target)}`, env),
      file: (target) => timed(pgToolPath("pg_restore"), ["--exit-on-error", "--single-transaction", "--no-password", `--dbname=${target}`, baseFile]),
    };

    const started = Date.now();
    for (let round = 1; round <= rounds; round++) {
      // Reverse the order every round, so drift in the machine's load does not favour one side.
      const order = round % 2 ? SIDES : [...SIDES].reverse();
      log(`round ${round}/${rounds}: exports (${order.join(", ")})`);
      for (const side of order) exports[side].push(await exportSide[side](round));
      log(`round ${round}/${rounds}: restores (${order.join(", ")})`);
      for (const side of order) {
        const name = `bench_${side}_restore_${round}`;
        const target = await pg.createDatabase(name);
        restores[side].push(await restoreSide[side](target, round));
        await pg.sql("postgres", `DROP DATABASE ${name}`);
      }
    }

    const ratios = (runs: Record<Side, Timed[]>, base: Side) => runs.drp.map((r, i) => r.seconds / runs[base][i].seconds);
    const secs = (runs: Timed[]) =>
      `${spread(runs.map((r) => r.seconds), 1)} s, machine CPU ${spread(runs.map((r) => r.machineCpu), 1)} s` +
      ` (S3 server ${spread(runs.map((r) => r.s3Cpu), 1)}, PostgreSQL ${spread(runs.map((r) => r.pgCpu), 1)})`;
    const peakMiB = Math.max(...[...exports.drp, ...restores.drp].map((r) => r.maxRssKiB)) / 1024;
    const peakMB = peakMiB * 1.048576;
    const ratioLine = (what: string, runs: Record<Side, Timed[]>, base: Side, target: number) => {
      const xs = ratios(runs, base);
      return `  ${what.padEnd(34)} ${spread(xs)}x  (target <= ${target.toFixed(2)}x) ${verdict(median(xs) <= target)}   rounds: ${xs.map((x) => x.toFixed(2)).join(", ")}`;
    };
    const out = [
      "",
      `Data recovery benchmark: ${rounds} paired rounds, median [min-max]; database ${formatBytes(dbBytes)}, ${rows.toLocaleString()} rows; dump ${formatBytes(dumpBytes)} (drp ${formatBytes(exportBytes)})`,
      `  load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${cpus().length} cores; bench ran ${Math.round((Date.now() - started) / 1000)} s`,
      ...(pin ? ["  pinned: drp, the pg tools and aws on CPU 0; PostgreSQL and moto on the others (one vCPU against remote servers)"] : []),
      "",
      `  drp export > S3                        ${secs(exports.drp)}   peak RSS ${(Math.max(...exports.drp.map((r) => r.maxRssKiB)) / 1024).toFixed(0)} MiB`,
      `  pg_dump -Fc | aws s3 cp -              ${secs(exports.pipeline)}`,
      `  pg_dump -Fc --file                     ${secs(exports.file)}`,
      `  drp restore < S3                       ${secs(restores.drp)}   peak RSS ${(Math.max(...restores.drp.map((r) => r.maxRssKiB)) / 1024).toFixed(0)} MiB`,
      `  aws s3 cp - | pg_restore -1            ${secs(restores.pipeline)}`,
      `  pg_restore -1 FILE                     ${secs(restores.file)}`,
      "",
      ratioLine("export  drp / pipeline", exports, "pipeline", TARGETS.pipeline),
      ratioLine("export  drp / pg_dump --file", exports, "file", TARGETS.file),
      ratioLine("restore drp / pipeline", restores, "pipeline", TARGETS.pipeline),
      ratioLine("restore drp / pg_restore FILE", restores, "file", TARGETS.file),
      `  drp peak RSS                       ${peakMB.toFixed(0)} MB (${peakMiB.toFixed(0)} MiB)  (target < ${TARGETS.rssMB} MB) ${verdict(peakMB < TARGETS.rssMB)}`,
      "",
      "  drp export, where the time goes (median [min-max]):",
      ...breakdown(drpExports, [
        ["start-up: spawn to pg_dump's first byte", (r) => between(r, "spawn", "firstByte")],
        ["  node + CLI load (spawn -> main)", (r) => between(r, "spawn", "main")],
        ["  snapshot open, critical tables resolved", (r) => between(r, "exportStart", "tablesResolved")],
        ["  bucket checks, pg_dump --version (pg_dump starting meanwhile)", (r) => between(r, "tablesResolved", "checksDone")],
        ["pg_dump streaming (first byte -> exit)", (r) => between(r, "firstByte", "dumpEnd")],
        ["hashing (CPU, overlapped with the dump)", (r) => r.timings.totals.hashMs / 1000],
        ["drp's own CPU (user + system, not the pg tools)", (r) => (r.timings.totals.cpuUserMs + r.timings.totals.cpuSystemMs) / 1000],
        ["upload tail (pg_dump exit -> upload complete)", (r) => between(r, "dumpEnd", "uploadDone")],
        ["counts beyond pg_dump's exit", (r) => Math.max(0, between(r, "dumpEnd", "countsDone") ?? 0)],
        ["read-back proof", (r) => between(r, "committed", "readBackDone")],
        ["manifest write", (r) => between(r, "readBackDone", "manifestWritten")],
        ["exit (manifest written -> process end)", (r) => between(r, "manifestWritten", "exit")],
      ]),
      "    every step:",
      ...sequence(drpExports),
      "",
      "  drp restore, where the time goes (median [min-max]):",
      ...breakdown(drpRestores, [
        ["start-up: spawn to the dump's first byte", (r) => between(r, "spawn", "firstByte")],
        ["  node + CLI load (spawn -> main)", (r) => between(r, "spawn", "main")],
        ["  manifest, size and target checks", (r) => between(r, "restoreStart", "checksDone")],
        ["hashing (CPU)", (r) => r.timings.totals.hashMs / 1000],
        ["drp's own CPU (user + system, not the pg tools)", (r) => (r.timings.totals.cpuUserMs + r.timings.totals.cpuSystemMs) / 1000],
        ["counts after pg_restore", (r) => between(r, "pgRestoreDone", "countsDone")],
      ]),
      "    every step:",
      ...sequence(drpRestores),
      "",
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await Promise.all([moto.stop(), pg.stop()]);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:data failed: ${(e as Error).message}\n`);
  process.exit(1);
});
