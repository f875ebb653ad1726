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
export function spawnDrp(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ChildProcessWithoutNullStreams {
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
export function runDrp(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Promise<DrpRun> {
  return exited(spawnDrp(args, env));
}

/** The error contract: exactly one line on stderr, starting with "drp: ". */
export function oneLineError(r: { readonly stderr: string }): string {
  const lines = r.stderr.split("\n").filter(Boolean);
  if (lines.length !== 1 || !lines[0].startsWith("drp: ")) throw new Error(`expected one "drp: " line on stderr, got:\n${r.stderr}`);
  return lines[0];
}

export interface InProcessResult {
  readonly error?: Error & { exitCode?: number };
  readonly stdout: string;
}

/**
 * Runs a command through the same commander program in this process (no child start-up cost), with
 * `env` applied for the duration (undefined removes a variable). Errors come back instead of exiting.
 */
export async function runDrpInProcess(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Promise<InProcessResult> {
  const { buildProgram } = await import("../../scripts/drp");
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  let stdout = "";
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await buildProgram().parseAsync(["node", "drp", ...args]);
    return { stdout };
  } catch (e) {
    return { error: e as Error & { exitCode?: number }, stdout };
  } finally {
    spy.mockRestore();
    apply(saved);
  }
}
