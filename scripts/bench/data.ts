/**
 * Benchmark of the data recovery path on a generated database of at least 1 GB (npm run bench:data):
 * `drp export` to a local S3 server (moto) against `pg_dump -Fc` to a local file, and `drp restore` from
 * it against `pg_restore` from that file. Prints the ratios (target <= 1.15x each), throughputs and the
 * peak RSS of the drp process (target <= 200 MB), measured by /usr/bin/time -v.
 *
 * Each measurement runs --rounds times (default 5), which side goes first alternating, and the medians are
 * compared, so a busy machine skews both sides alike. Options: --gb N (database size, default 1).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { startMoto } from "../../__tests__/harness/moto";
import { startPostgres } from "../../__tests__/harness/postgres";
import { pgToolPath } from "../lib/pg-tools";
import { formatBytes } from "../lib/progress";

const ROOT = join(__dirname, "..", "..");
const BUCKET = "livestreamsell-dr-bench";
const TARGETS = { ratio: 1.15, rssMiB: 200 };

interface Timed {
  readonly seconds: number;
  readonly maxRssKiB: number;
  readonly stdout: string;
}

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs a command under /usr/bin/time -v; wall time from here, peak RSS from time's report. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn("/usr/bin/time", ["-v", cmd, ...args], { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stderr.slice(-3000)}`));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ seconds, maxRssKiB: rss ? Number(rss[1]) : NaN, stdout });
    });
  });
}

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
async function generate(url: string, gb: number): Promise<number> {
  const orders = Math.round(3_000_000 * gb);
  await sql(
    url,
    `CREATE TABLE orders (id bigint, customer_id int, status text, amount numeric(12,2), payload jsonb, comment text, created_at timestamptz);
     CREATE TABLE order_states (order_id bigint, state text, at timestamptz);
     CREATE TABLE audit_logs (id bigint, actor text, action text, detail jsonb);`,
  );
  const chunk = 500_000;
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

const mbps = (bytes: number, s: number) => `${(bytes / 1e6 / s).toFixed(1)} MB/s`;
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const gb = option(args, "--gb", 1);
  const rounds = Math.round(option(args, "--rounds", 5));

  log("starting PostgreSQL and moto");
  const [pg, moto] = await Promise.all([startPostgres({ settings: { max_wal_size: "8GB", maintenance_work_mem: "256MB", shared_buffers: "512MB" } }), startMoto()]);
  const work = mkdtempSync(join(tmpdir(), "drp-bench-"));
  try {
    await moto.createBucket(BUCKET);
    const source = await pg.createDatabase("bench_source");
    log(`generating about ${gb} GB`);
    const dbBytes = await generate(source, gb);
    log(`database size ${formatBytes(dbBytes)}`);
    if (dbBytes < gb * 1e9) log(`warning: database is ${formatBytes(dbBytes)}, below the requested ${gb} GB`);
    const env = { ...process.env, ...moto.env, DATABASE_URL: source };
    const baseFile = join(work, "baseline.dump");
    const runs: Record<"baseDump" | "drpExport" | "baseRestore" | "drpRestore", Timed[]> = { baseDump: [], drpExport: [], baseRestore: [], drpRestore: [] };
    /** Time drp's embedded pg_dump / pg_restore ran, and drp's own restore phases. */
    const inner = { drpExport: [] as number[], drpRestore: [] as number[] };
    const phases = { download: [] as number[], check: [] as number[] };
    let dumpBytes = 0;
    let exportBytes = 0;

    const baseDump = async () => {
      rmSync(baseFile, { force: true });
      runs.baseDump.push(await timed(pgToolPath("pg_dump"), ["--format=custom", "--no-password", `--file=${baseFile}`, `--dbname=${source}`]));
      dumpBytes = statSync(baseFile).size;
    };
    let manifest = "";
    const drpExport = async (round: number) => {
      const exp = await timed(process.execPath, ["bin/drp.cjs", "export", "--bucket", BUCKET, "--prefix", `bench-${round}/`, "--critical-tables", "orders,order_states,audit_logs", "--json"], env);
      runs.drpExport.push(exp);
      const exported = JSON.parse(exp.stdout) as { manifest: string; bytes: number; timings: { dumpSeconds: number } };
      exportBytes = exported.bytes;
      manifest = exported.manifest;
      inner.drpExport.push(exported.timings.dumpSeconds);
    };
    const baseRestore = async (round: number) => {
      const target = await pg.createDatabase(`bench_pg_restore_${round}`);
      runs.baseRestore.push(await timed(pgToolPath("pg_restore"), ["--exit-on-error", "--single-transaction", "--no-password", `--dbname=${target}`, baseFile]));
      await pg.sql("postgres", `DROP DATABASE bench_pg_restore_${round}`);
    };
    const drpRestore = async (round: number) => {
      const target = await pg.createDatabase(`bench_drp_restore_${round}`);
      const res = await timed(process.execPath, ["bin/drp.cjs", "restore", manifest, "--target", target, "--json"], { ...env, TMPDIR: work });
      runs.drpRestore.push(res);
      const timings = (JSON.parse(res.stdout) as { timings: { downloadSeconds: number; restoreSeconds: number; checkSeconds: number } }).timings;
      inner.drpRestore.push(timings.restoreSeconds);
      phases.download.push(timings.downloadSeconds);
      phases.check.push(timings.checkSeconds);
      await pg.sql("postgres", `DROP DATABASE bench_drp_restore_${round}`);
    };

    for (let round = 1; round <= rounds; round++) {
      // Alternate which side goes first, so drift in the machine's load does not favour one.
      const drpFirst = round % 2 === 0;
      log(`round ${round}/${rounds}: dumps (${drpFirst ? "drp export, then pg_dump" : "pg_dump, then drp export"})`);
      if (drpFirst) {
        await drpExport(round);
        await baseDump();
      } else {
        await baseDump();
        await drpExport(round);
      }
      log(`round ${round}/${rounds}: restores (${drpFirst ? "drp restore, then pg_restore" : "pg_restore, then drp restore"})`);
      if (drpFirst) {
        await drpRestore(round);
        await baseRestore(round);
      } else {
        await baseRestore(round);
        await drpRestore(round);
      }
    }

    const t = (k: keyof typeof runs) => median(runs[k].map((r) => r.seconds));
    const rss = (k: keyof typeof runs) => Math.max(...runs[k].map((r) => r.maxRssKiB)) / 1024;
    const all = (k: keyof typeof runs) => runs[k].map((r) => r.seconds.toFixed(1)).join(", ");
    // Each round's pair ran back to back, so the median of per-round ratios resists drift in the load.
    const pairRatio = (drp: keyof typeof runs, base: keyof typeof runs) => median(runs[drp].map((r, i) => r.seconds / runs[base][i].seconds));
    const exportRatio = pairRatio("drpExport", "baseDump");
    const restoreRatio = pairRatio("drpRestore", "baseRestore");
    const overhead = (k: "drpExport" | "drpRestore") => median(runs[k].map((r, i) => r.seconds - inner[k][i]));
    const peak = Math.max(rss("drpExport"), rss("drpRestore"));
    const rows = [
      ["database", formatBytes(dbBytes), "", ""],
      ["dump", formatBytes(dumpBytes), `drp: ${formatBytes(exportBytes)}`, ""],
      ["pg_dump -Fc > file", `${t("baseDump").toFixed(1)} s`, mbps(dbBytes, t("baseDump")), `rss ${rss("baseDump").toFixed(0)} MiB  runs ${all("baseDump")}`],
      ["drp export > S3", `${t("drpExport").toFixed(1)} s`, mbps(dbBytes, t("drpExport")), `rss ${rss("drpExport").toFixed(0)} MiB  runs ${all("drpExport")}`],
      ["pg_restore < file", `${t("baseRestore").toFixed(1)} s`, mbps(dumpBytes, t("baseRestore")), `runs ${all("baseRestore")}`],
      ["drp restore < S3", `${t("drpRestore").toFixed(1)} s`, mbps(exportBytes, t("drpRestore")), `rss ${rss("drpRestore").toFixed(0)} MiB  runs ${all("drpRestore")}`],
    ];
    process.stdout.write(`\nData recovery benchmark: medians of ${rounds} rounds (database MB/s for dumps, dump MB/s for restores)\n`);
    for (const r of rows) process.stdout.write(`  ${r[0].padEnd(20)} ${r[1].padStart(10)}  ${r[2].padEnd(18)} ${r[3]}\n`);
    process.stdout.write(
      [
        "",
        `  export ratio  ${exportRatio.toFixed(3)}x   (target <= ${TARGETS.ratio}x) ${verdict(exportRatio <= TARGETS.ratio)}   per round: ${runs.drpExport.map((r, i) => (r.seconds / runs.baseDump[i].seconds).toFixed(2)).join(", ")}; ratio of medians ${(t("drpExport") / t("baseDump")).toFixed(3)}`,
        `  restore ratio ${restoreRatio.toFixed(3)}x   (target <= ${TARGETS.ratio}x) ${verdict(restoreRatio <= TARGETS.ratio)}   per round: ${runs.drpRestore.map((r, i) => (r.seconds / runs.baseRestore[i].seconds).toFixed(2)).join(", ")}; ratio of medians ${(t("drpRestore") / t("baseRestore")).toFixed(3)}`,
        `  drp time outside pg_dump (start, snapshot, upload tail, manifest): ${overhead("drpExport").toFixed(2)} s; embedded pg_dump ${median(inner.drpExport).toFixed(1)} s`,
        `  drp time outside pg_restore: ${overhead("drpRestore").toFixed(2)} s (download + checksum ${median(phases.download).toFixed(2)} s, row counts ${median(phases.check).toFixed(2)} s); embedded pg_restore ${median(inner.drpRestore).toFixed(1)} s`,
        `  drp peak RSS  ${peak.toFixed(0)} MiB  (target <= ${TARGETS.rssMiB} MB = ${(TARGETS.rssMiB / 1.048576).toFixed(0)} MiB) ${verdict(peak * 1.048576 <= TARGETS.rssMiB)}`,
        `  load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${cpus().length} cores`,
        "",
      ].join("\n"),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await Promise.all([moto.stop(), pg.stop()]);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:data failed: ${(e as Error).message}\n`);
  process.exit(1);
});
