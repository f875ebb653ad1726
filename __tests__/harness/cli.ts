/** Runs the real `drp` CLI (bin/drp.cjs) as a subprocess, the way an operator does. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";

export const DRP_BIN = join(__dirname, "..", "..", "bin", "drp.cjs");

export interface DrpRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `drp ARGS`; env adds to (or, with undefined, removes from) the current environment. */
export function spawnDrp(args: string[], env: Record<string, string | undefined> = {}): ChildProcessWithoutNullStreams {
  const merged = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  return spawn(process.execPath, [DRP_BIN, ...args], { env: merged, cwd: join(__dirname, "..", "..") });
}

export function exited(child: ChildProcessWithoutNullStreams): Promise<DrpRun> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `drp ARGS` to completion. */
export function runDrp(args: string[], env: Record<string, string | undefined> = {}): Promise<DrpRun> {
  return exited(spawnDrp(args, env));
}
