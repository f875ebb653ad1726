/**
 * Where the time of `cdktf synth` goes: the CLI bundle, the handler bundle every app command
 * loads, the app itself, and the whole command as an operator types it. Prints figures only.
 *
 *   npx tsx scripts/bench/cdktf-cli.ts [project-dir] [--runs N]
 *
 * Without project-dir it measures a temporary copy of the context fixture app; pass `.` for the
 * project's own app (its cdktf.out is rewritten, as by any synth).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(__dirname, "../..");
const CDKTF = join(REPO, "node_modules/.bin/cdktf");
const HANDLERS = join(REPO, "node_modules/cdktf-cli/bundle/bin/cmds/handlers.js");
const TIME = "/usr/bin/time";

function parseArgs(argv: string[]): { dir?: string; runs: number } {
  let dir: string | undefined;
  let runs = 5;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runs") {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number of at least 1, e.g. --runs 5");
    } else if (argv[i].startsWith("-")) throw new Error(`unknown option ${argv[i]}; usage: cdktf-cli.ts [project-dir] [--runs N]`);
    else dir = resolve(argv[i]);
  }
  return { dir, runs };
}

interface Sample {
  ms: number;
  rssMiB?: number;
}

/** Runs a command once; wall time, and peak RSS when GNU time is installed. */
function measure(cwd: string, command: string[], env: NodeJS.ProcessEnv): Sample {
  const withTime = existsSync(TIME);
  const argv = withTime ? [TIME, "-f", "%M", ...command] : command;
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command.join(" ")} exited ${result.status}:\n${result.stderr.slice(-2000)}`);
  const rssKiB = withTime ? Number(result.stderr.trim().split("\n").pop()) : NaN;
  return { ms, rssMiB: Number.isFinite(rssKiB) ? rssKiB / 1024 : undefined };
}

function main(): void {
  const { dir, runs } = parseArgs(process.argv.slice(2));
  let project = dir;
  let scratch: string | undefined;
  if (!project) {
    scratch = mkdtempSync(join(tmpdir(), "cdktf-bench-"));
    project = join(scratch, "app");
    cpSync(join(REPO, "__tests__/fixtures/context-app"), project, { recursive: true });
    symlinkSync(join(REPO, "node_modules"), join(project, "node_modules"), "dir");
  }
  const app: string = JSON.parse(readFileSync(join(project, "cdktf.json"), "utf8")).app;
  const outdir = mkdtempSync(join(tmpdir(), "cdktf-bench-out-"));
  const env = { ...process.env, FORCE_COLOR: "0" };
  const steps: [string, string[], NodeJS.ProcessEnv][] = [
    ["CLI bundle (cdktf --version)", [process.execPath, CDKTF, "--version"], env],
    ["handler bundle (require only)", [process.execPath, "-e", `require(${JSON.stringify(HANDLERS)})`], env],
    [`app alone (${app})`, ["sh", "-c", app], { ...env, CDKTF_OUTDIR: outdir }],
    ["node_modules/.bin/cdktf synth", [process.execPath, CDKTF, "synth"], env],
    ["npx cdktf synth", ["npx", "cdktf", "synth"], env],
  ];
  try {
    console.log(`project ${project}, ${runs} runs each, median / max wall time, max peak RSS`);
    for (const [label, command, stepEnv] of steps) {
      const samples = Array.from({ length: runs }, () => measure(project, command, stepEnv));
      const times = samples.map((s) => s.ms).sort((a, b) => a - b);
      const rss = Math.max(...samples.map((s) => s.rssMiB ?? NaN));
      const rssText = Number.isFinite(rss) ? `${rss.toFixed(0)} MiB` : "n/a";
      console.log(`${label.padEnd(44)} ${times[Math.floor(runs / 2)].toFixed(0).padStart(6)} ms ${times[runs - 1].toFixed(0).padStart(6)} ms ${rssText.padStart(9)}`);
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

main();
