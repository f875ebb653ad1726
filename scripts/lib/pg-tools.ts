/**
 * The one way to run PostgreSQL client programs (pg_dump, pg_restore, psql): binary lookup, spawning,
 * and their failures as one line. Binaries come from DRP_PG_BIN, else the newest
 * /usr/lib/postgresql/<major>/bin (pg_dump must be at least the server's major), else PATH.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { DrpError } from "./cli";
import { onInterrupt } from "./interrupt";

export type PgTool = "pg_dump" | "pg_restore" | "psql" | "initdb" | "pg_ctl" | "pg_basebackup";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directories to search, best first. */
export function pgBinDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.DRP_PG_BIN) dirs.push(env.DRP_PG_BIN);
  try {
    const majors = readdirSync("/usr/lib/postgresql")
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    dirs.push(...majors.map((m) => `/usr/lib/postgresql/${m}/bin`));
  } catch {
    // not a Debian layout
  }
  dirs.push(...(env.PATH ?? "").split(delimiter).filter(Boolean));
  return dirs;
}

const found = new Map<string, string>();

export function pgToolPath(tool: PgTool): string {
  const cached = found.get(tool);
  if (cached) return cached;
  for (const dir of pgBinDirs()) {
    const path = join(dir, tool);
    if (executable(path)) {
      found.set(tool, path);
      return path;
    }
  }
  throw new DrpError(`${tool} not found: install the PostgreSQL client (same major as the server, or newer) or set DRP_PG_BIN to its bin directory`, 1);
}

/** How a pg tool reaches a database: extra arguments (e.g. --dbname) and environment (e.g. PGPASSWORD; undefined removes a variable). */
export interface PgToolConnection {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The tool's environment: ours, with the connection's variables set or (undefined) removed. */
export function toolEnv(connection: PgToolConnection, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [k, v] of Object.entries(connection.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface PgToolOptions {
  readonly connection?: PgToolConnection;
  /** "pipe" gives a writable stdin; default "ignore". */
  readonly stdin?: "pipe" | "ignore";
  /** "pipe" exposes stdout as a stream; "collect" buffers it for the result; default "ignore". */
  readonly stdout?: "pipe" | "collect" | "ignore";
  /**
   * The tool's stdio buffer for stdout, in bytes, set with coreutils' `stdbuf -o` where it is installed
   * (else the tool runs as it is). Into a pipe, pg_dump writes its archive in 4-20 KiB pieces; bigger
   * ones reach the reader in fewer, fuller chunks and cut drp's own CPU per export by about a quarter.
   */
  readonly stdoutBuffer?: number;
}

const stdbufFound = new Map<string, string | null>();

/** coreutils' stdbuf on PATH, if any. */
export function stdbufPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.PATH ?? "";
  if (!stdbufFound.has(path))
    stdbufFound.set(path, path.split(delimiter).filter(Boolean).map((d) => join(d, "stdbuf")).find(executable) ?? null);
  return stdbufFound.get(path) ?? undefined;
}

/** The command line of a tool: through stdbuf when a stdout buffer is asked for and stdbuf is there. */
export function toolCommand(path: string, args: readonly string[], stdoutBuffer?: number): [string, string[]] {
  const stdbuf = stdoutBuffer ? stdbufPath() : undefined;
  return stdbuf ? [stdbuf, ["-o", String(stdoutBuffer), path, ...args]] : [path, [...args]];
}

export interface PgProcess {
  readonly child: ChildProcess;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Resolves with the collected stdout (empty unless stdout: "collect") once the tool exits 0. */
  readonly done: Promise<string>;
  /** Stops the tool (it is then reported as failed). */
  kill(): void;
}

const STDERR_LIMIT = 64 * 1024;

/** The most telling line of a tool's stderr: its first error line (with the server's detail), else its first line. */
export function summarizeToolError(tool: string, stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const at = lines.findIndex((l) => / error: |FATAL|ERROR:/.test(l));
  const main = (lines[at] ?? lines[0] ?? "").replace(new RegExp(`^${tool}: (error: )?`), "");
  const detail = at >= 0 ? lines.slice(at + 1).find((l) => l.startsWith(`${tool}: detail: `)) : undefined;
  return detail ? `${main} (${detail.slice(`${tool}: detail: `.length)})` : main;
}

export function spawnPgTool(tool: PgTool, args: readonly string[], options: PgToolOptions = {}): PgProcess {
  const path = pgToolPath(tool);
  const connection = options.connection ?? { args: [], env: {} };
  const stdoutMode = options.stdout ?? "ignore";
  const [command, commandArgs] = toolCommand(path, [...args, ...connection.args], options.stdoutBuffer);
  const child = spawn(command, commandArgs, {
    env: toolEnv(connection),
    stdio: [options.stdin ?? "ignore", stdoutMode === "ignore" ? "ignore" : "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += d;
  });
  let collected = "";
  if (stdoutMode === "collect") {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => (collected += d));
  }
  let killed = false;
  const forget = onInterrupt(() => {
    killed = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }, true);
  const done = new Promise<string>((resolve, reject) => {
    child.on("error", (e) => reject(new DrpError(`cannot run ${path}: ${e.message}`, 1)));
    child.on("close", (code, signal) => {
      forget();
      if (code === 0 && !killed) return resolve(collected);
      const why = summarizeToolError(tool, stderr) || (signal ? `stopped by ${signal}` : `exit code ${code}`);
      reject(new DrpError(`${tool} failed: ${why}`, 1));
    });
  });
  // A caller that only kills the tool must not see an unhandled rejection.
  done.catch(() => undefined);
  return {
    child,
    stdin: child.stdin,
    stdout: stdoutMode === "pipe" ? child.stdout : null,
    done,
    kill() {
      killed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}

/** Runs a tool to completion and returns its stdout. */
export function runPgTool(tool: PgTool, args: readonly string[], connection?: PgToolConnection): Promise<string> {
  return spawnPgTool(tool, args, { connection, stdout: "collect" }).done;
}

/** e.g. "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
export async function pgToolVersion(tool: PgTool): Promise<string> {
  return (await runPgTool(tool, ["--version"])).trim();
}
