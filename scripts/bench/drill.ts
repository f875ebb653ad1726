/**
 * Drill benchmark (figures, not a test): `npx drp drill --json` end to end, as an operator runs it, for
 * several rounds of each scenario; prints every step's duration, the whole run's wall time (start-up and
 * cleanup included) and the data lost, against the target: at most 60 s, 0 orders and 0 comments lost
 * in the pitr scenario. Usage: npm run bench:drill [-- --rounds N] [-- --scenario pitr|provider-loss]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import type { DrillReport } from "../drill/run";

const root = join(__dirname, "..", "..");
const TARGET_SECONDS = 60;

function main(): void {
  const o = new Command("bench:drill")
    .option("--rounds <n>", "rounds per scenario", (v) => Number.parseInt(v, 10), 3)
    .addOption(new Option("--scenario <name>", "only this scenario").choices(["pitr", "provider-loss"]))
    .parse()
    .opts<{ rounds: number; scenario?: string }>();
  const out = mkdtempSync(join(tmpdir(), "drp-bench-drill-"));
  let pass = true;
  try {
    for (const scenario of o.scenario ? [o.scenario] : ["pitr", "provider-loss"]) {
      const walls: number[] = [];
      for (let i = 1; i <= o.rounds; i++) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, [join(root, "bin", "drp.cjs"), "drill", "--json", "--scenario", scenario, "--out", join(out, `${scenario}-${i}`)], { cwd: root, encoding: "utf8" });
        const wall = (performance.now() - t0) / 1000;
        if (!r.stdout.trim()) throw new Error(`drill ${scenario} printed nothing (exit ${r.status}): ${r.stderr.slice(-500)}`);
        const rep = JSON.parse(r.stdout) as DrillReport;
        walls.push(wall);
        const lossOk = scenario !== "pitr" || (rep.rpo.ordersLost === 0 && rep.rpo.commentsLost === 0);
        pass &&= rep.ok && wall <= TARGET_SECONDS && lossOk;
        console.log(
          `${scenario} round ${i}: wall ${wall.toFixed(1)} s, RTO ${rep.rtoSeconds} s, RPO ${rep.rpo.seconds} s, orders lost ${rep.rpo.ordersLost}/${rep.traffic.ordersAcknowledged}, ` +
            `comments lost ${rep.rpo.commentsLost}/${rep.traffic.commentsAccepted} (${rep.traffic.commentsBuffered} buffered) ${rep.ok ? "ok" : "FAILED"}`,
        );
        console.log(`   ${rep.steps.map((s) => `${s.name} ${s.seconds} s`).join(" | ")}`);
      }
      const sorted = [...walls].sort((a, b) => a - b);
      console.log(`${scenario}: wall median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} s (min ${sorted[0].toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}), target <= ${TARGET_SECONDS} s\n`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  console.log(pass ? "all rounds within target" : "OVER target or data lost in at least one round");
  if (!pass) process.exitCode = 1;
}

main();
