/**
 * Flag and environment parsing shared by the data commands (export, verify, restore, pitr). Kept light:
 * the commands require their heavy modules (AWS SDK, pg, zod) only when they run, so every start is quick.
 */
import type { DrpConfig } from "../../constructs/config";
import { DrpError } from "../lib/cli";

/** The plan's configuration, or one line saying why it cannot be read (its issues joined). */
export function configFor(purpose: string): DrpConfig {
  const { ConfigError, loadConfig } = require("../../constructs/config") as typeof import("../../constructs/config");
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) throw new DrpError(`${purpose}: ${e.message.split("\n").map((l) => l.trim()).filter(Boolean).join("; ")}`, 2);
    throw e;
  }
}

export function intOption(raw: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) throw new DrpError(`${flag} must be a whole number from ${min} to ${max} (got "${raw}")`, 2);
  return n;
}

export function numberOption(raw: string | undefined, flag: string, unit: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || n < min || n > max) throw new DrpError(`${flag} must be a number of ${unit} from ${min} to ${max} (got "${raw}")`, 2);
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000 };
/** PostgreSQL's limit for its timeouts (INT_MAX milliseconds, about 24.8 days). */
const MAX_DURATION_MS = 2_147_483_647;

/** Milliseconds from `500ms`, `30s`, `5min`, `6h`, or `0` (no limit). */
export function durationOption(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)(ms|s|min|h)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * (m[2] ? UNIT_MS[m[2]] : Number(m[1]) === 0 ? 0 : NaN) : NaN;
  if (!Number.isSafeInteger(ms) || ms > MAX_DURATION_MS)
    throw new DrpError(`${flag} must be a duration such as 500ms, 30s, 5min or 6h (at most 596h), or 0 for no limit (got "${raw}")`, 2);
  return ms;
}

export function warn(message: string): void {
  process.stderr.write(`drp: warning: ${message}\n`);
}

export const DATABASE_ENV_HELP = `  DATABASE_URL            postgresql://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=require]
                          (or the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE);
                          its query takes libpq keywords, but host, port, dbname, user and the like belong in the URL`;

export const S3_ENV_HELP = `  AWS_REGION, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
                          the AWS SDK's usual configuration
  AWS_ENDPOINT_URL_S3     another S3 server (path-style), e.g. http://127.0.0.1:5000
  DRP_S3_CONNECT_TIMEOUT_MS, DRP_S3_IDLE_TIMEOUT_MS, DRP_S3_ABORT_TIMEOUT_MS
                          S3 connect timeout (10000), no data either way mid-request or mid-transfer
                          (120000, per attempt; 3 attempts), wait for an upload's abort (10000)
  DRP_PG_BIN              directory of pg_dump/pg_restore (default: newest /usr/lib/postgresql/*/bin, then PATH)`;
