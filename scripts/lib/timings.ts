/**
 * Timing marks for the data benchmark (npm run bench:data). With DRP_TIMINGS=FILE, drp writes on exit
 * one JSON object: `timeOrigin` (epoch ms of the process start), `marks` (ms since the process start, the
 * first time each was reached) and `totals` (summed ms, e.g. time spent hashing). Unset, every call is
 * one boolean test: nothing is measured, nothing is written.
 */
import { statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DrpError } from "./cli";

export const TIMINGS_ENV = "DRP_TIMINGS";

const file = process.env[TIMINGS_ENV] || undefined;
/** True only while benchmarking: guard any extra clock reads with it. */
export const timingsOn = file !== undefined;

const marks: Record<string, number> = {};
const totals: Record<string, number> = {};

/** Records the first time `name` is reached. */
export function mark(name: string): void {
  if (timingsOn && marks[name] === undefined) marks[name] = performance.now();
}

/** Adds `ms` to the total `name`. */
export function addTime(name: string, ms: number): void {
  if (timingsOn) totals[name] = (totals[name] ?? 0) + ms;
}

/** Checks DRP_TIMINGS names a file in an existing directory, and writes the marks there on exit. */
export function startTimings(): void {
  if (!timingsOn) return;
  const dir = dirname(resolve(file!));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new DrpError(`${TIMINGS_ENV}="${file}": directory ${dir} does not exist; point it at a file in an existing directory or unset it`, 2);
  mark("main");
  process.on("exit", () => {
    // drp's own CPU (this process, not the pg tools it runs): what it adds to the machine's load.
    const cpu = process.cpuUsage();
    totals.cpuUserMs = cpu.user / 1000;
    totals.cpuSystemMs = cpu.system / 1000;
    try {
      writeFileSync(file!, `${JSON.stringify({ timeOrigin: performance.timeOrigin, marks, totals })}\n`);
    } catch (e) {
      process.stderr.write(`drp: warning: cannot write ${TIMINGS_ENV} file ${file}: ${(e as Error).message}\n`);
    }
  });
}
