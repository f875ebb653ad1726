/**
 * Infrastructure speed benchmark (figures, not a test): the app's own synthesis (every stack, both
 * regions), `npx cdktf synth` end to end, the offline terraform validation (its jest file, with the
 * schema cache warm and cold), and the whole test suite, against the plan's targets.
 * Usage: npm run bench [-- --runs N] [-- --skip-tests]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";

const root = join(__dirname, "..", "..");

interface Sample {
  seconds: number;
  maxRssMiB: number;
}

/** Runs a command under /usr/bin/time and returns wall time and peak RSS (of the largest process). */
function measure(cmd: string[], env: Record<string, string> = {}): Sample {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", ...cmd], { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  const [seconds, kib] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { seconds, maxRssMiB: kib / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function row(name: string, samples: Sample[], target: { seconds: number; mib?: number }): string {
  const s = median(samples.map((x) => x.seconds));
  const m = Math.max(...samples.map((x) => x.maxRssMiB));
  const ok = s <= target.seconds && (target.mib === undefined || m <= target.mib);
  const tgt = `<= ${target.seconds} s${target.mib ? `, <= ${target.mib} MB` : ""}`;
  return `${name.padEnd(40)} ${s.toFixed(2).padStart(7)} s ${m.toFixed(0).padStart(6)} MB   target ${tgt.padEnd(20)} ${ok ? "ok" : "OVER"}`;
}

function main(): void {
  const opts = new Command("bench")
    .option("--runs <n>", "runs per measurement (median is reported)", (v) => Number.parseInt(v, 10), 5)
    .option("--skip-tests", "do not time the test suite")
    .parse()
    .opts<{ runs: number; skipTests?: boolean }>();
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error("--runs must be a positive whole number");
  const out = mkdtempSync(join(tmpdir(), "drp-bench-"));
  try {
    const lines: string[] = [];
    for (const region of ["primary", "secondary"]) {
      const samples = Array.from({ length: opts.runs }, () =>
        measure([process.execPath, "--import", "tsx", "main.ts"], { CDKTF_OUTDIR: out, CDKTF_CONTEXT_JSON: JSON.stringify({ region }) }),
      );
      lines.push(row(`app synthesis (region=${region})`, samples, { seconds: 1.5, mib: 400 }));
    }
    const cli = Array.from({ length: Math.min(opts.runs, 3) }, () => measure(["npx", "cdktf", "synth", "--output", out]));
    lines.push(row("npx cdktf synth (end to end)", cli, { seconds: 5 }));
    // What the validator adds to npm test once its schema cache exists, and the one-time cold build.
    const validate = ["npx", "jest", "__tests__/stacks/terraform-validate.test.ts", "--silent"];
    const warm = Array.from({ length: Math.min(opts.runs, 3) }, () => measure(validate));
    lines.push(row("offline validate, warm cache (jest file)", warm, { seconds: 10 }));
    const cold = Array.from({ length: Math.min(opts.runs, 2) }, () => {
      const cache = mkdtempSync(join(tmpdir(), "drp-schema-"));
      try {
        return measure(validate, { DRP_SCHEMA_CACHE_DIR: cache });
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });
    lines.push(row("offline validate, cold cache (jest file)", cold, { seconds: 20 }));
    lines.push(`  rounds (s): warm ${warm.map((x) => x.seconds.toFixed(2)).join(", ")}; cold ${cold.map((x) => x.seconds.toFixed(2)).join(", ")}`);
    if (!opts.skipTests) lines.push(row("test suite (npm test)", [measure(["npm", "test", "--silent"])], { seconds: 60 }));
    process.stdout.write(`${"measurement".padEnd(40)} ${"median".padStart(9)} ${"peak".padStart(9)}\n${lines.join("\n")}\n`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

main();
