/**
 * How long a restore may wait for a lock, and run one statement, before drp gives up: the defaults (one
 * home), their flags and environment variables, and the duration syntax. Light: no pg, no AWS SDK.
 */
import { durationOption } from "./command-support";

export interface RestoreTimeouts {
  /** Longest wait for one lock, in ms; 0 waits forever. */
  readonly lockTimeoutMs: number;
  /** Longest single statement, in ms; 0 has no limit. */
  readonly statementTimeoutMs: number;
}

/**
 * 30 s for a lock: ordinary queries and short transactions on a live target finish well within it, while
 * a session that sits in a transaction holding a table (an idle-in-transaction client, a migration, a
 * backup tool) fails the restore quickly and by name instead of hanging it.
 * 6 h for a statement: pg_restore loads each table with one COPY and builds each index with one
 * statement, so the longest statement grows with the biggest table; 100 GB at a pessimistic 20 MB/s is
 * about 1.5 h. 6 h never ends a healthy restore of a multi-GB database, yet a stuck one ends the same day.
 */
export const DEFAULT_RESTORE_TIMEOUTS: RestoreTimeouts = { lockTimeoutMs: 30_000, statementTimeoutMs: 6 * 3_600_000 };

export const TIMEOUT_SETTINGS = [
  { key: "lockTimeoutMs", flag: "--lock-timeout", env: "DRP_LOCK_TIMEOUT", setting: "lock_timeout" },
  { key: "statementTimeoutMs", flag: "--statement-timeout", env: "DRP_STATEMENT_TIMEOUT", setting: "statement_timeout" },
] as const;

export function formatDuration(ms: number): string {
  if (ms === 0) return "no limit";
  for (const [unit, size] of [["h", 3_600_000], ["min", 60_000], ["s", 1_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Flags first, then DRP_LOCK_TIMEOUT / DRP_STATEMENT_TIMEOUT, then the defaults. */
export function restoreTimeouts(flags: { lockTimeout?: string; statementTimeout?: string }, env: NodeJS.ProcessEnv = process.env): RestoreTimeouts {
  const raw = { lockTimeoutMs: flags.lockTimeout, statementTimeoutMs: flags.statementTimeout };
  const out = { ...DEFAULT_RESTORE_TIMEOUTS };
  for (const t of TIMEOUT_SETTINGS) {
    const fromFlag = raw[t.key];
    const value = fromFlag ?? env[t.env];
    if (value !== undefined) out[t.key] = durationOption(value, fromFlag !== undefined ? t.flag : t.env)!;
  }
  return out;
}

/** The same limits as PostgreSQL settings, for node-pg sessions (libpq `options`). */
export function timeoutSettings(t: RestoreTimeouts): Record<string, string> {
  return Object.fromEntries(TIMEOUT_SETTINGS.map((s) => [s.setting, String(t[s.key])]));
}

export const RESTORE_TIMEOUTS_HELP = `  DRP_LOCK_TIMEOUT        longest wait for one lock on the target (default ${formatDuration(DEFAULT_RESTORE_TIMEOUTS.lockTimeoutMs)}; 0 waits forever)
  DRP_STATEMENT_TIMEOUT   longest single statement, e.g. one table's COPY (default ${formatDuration(DEFAULT_RESTORE_TIMEOUTS.statementTimeoutMs)}; 0 no limit)`;
