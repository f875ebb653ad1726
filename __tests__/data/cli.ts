/** Runs the real `drp` entry point (bin/drp.cjs) as a child process, as an operator or the ECS task would. */
import { execFile } from "node:child_process";
import { join } from "node:path";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const BIN = join(__dirname, "..", "..", "bin", "drp.cjs");

export function runDrp(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, cwd: join(__dirname, "..", ".."), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The error contract: exactly one line on stderr, starting with "drp: ". */
export function oneLineError(r: CliResult): string {
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
