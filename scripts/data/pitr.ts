/**
 * Supabase point-in-time recovery, made safe: the target time is checked against the plan's PITR window
 * and the project's own recovery points before anything happens; the real restore (in place, in the
 * source region) needs --confirm with the project ref, and is then followed until the project is healthy.
 */
import { DrpError } from "../lib/cli";
import { TransientApiError, type SupabaseApi } from "./supabase-api";

export const PROJECT_REF = /^[a-z]{20}$/;

export function checkProjectRef(ref: string): string {
  if (!PROJECT_REF.test(ref)) throw new DrpError(`--project-ref "${ref}" is not a Supabase project ref (20 lowercase letters, as in https://<ref>.supabase.co)`, 2);
  return ref;
}

/** ISO-8601 with an explicit zone: a zoneless time is ambiguous by hours, which PITR cannot afford. */
export function parseTargetTime(raw: string): Date {
  const usage = `--to "${raw}" is not an ISO-8601 time with a zone; use e.g. 2026-11-27T05:58:00Z or 2026-11-27T02:58:00-03:00`;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/.exec(raw);
  if (!m) throw new DrpError(usage, 2);
  // Date.parse rolls 2026-02-30 over to March 2nd: a restore to a time nobody typed. Check every field.
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const [offsetHours, offsetMinutes] = [9, 10].map((i) => Number(m[i] ?? 0));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59)
    throw new DrpError(`--to "${raw}" is not a real date and time (check the day of the month and the clock fields)`, 2);
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new DrpError(usage, 2);
  return new Date(t);
}

export interface PitrPlan {
  readonly projectRef: string;
  readonly target: string;
  readonly targetUnix: number;
  readonly window: { readonly earliest: string; readonly latest: string; readonly retentionDays: number };
  readonly request: { readonly method: "POST"; readonly path: string; readonly body: { readonly recovery_time_target_unix: number } };
  readonly confirmFlag: string;
}

const iso = (unix: number) => new Date(unix * 1000).toISOString().replace(".000Z", "Z");

/** Reads the project's backups and checks the target against every bound; throws one line per violation kind. */
export async function planPitr(api: SupabaseApi, ref: string, target: Date, retentionDays: number, now = new Date()): Promise<PitrPlan> {
  checkProjectRef(ref);
  const backups = await api.listBackups(ref);
  if (!backups.pitr_enabled)
    throw new DrpError(`point-in-time recovery is not enabled on project ${ref}; restore a daily backup in the dashboard, or an export with drp restore`, 1);

  const targetUnix = Math.floor(target.getTime() / 1000);
  const nowUnix = Math.floor(now.getTime() / 1000);
  const retentionStart = nowUnix - retentionDays * 86_400;
  const phys = backups.physical_backup_data ?? {};
  const earliestPoint = phys.earliest_physical_backup_date_unix || undefined;
  const latestPoint = phys.latest_physical_backup_date_unix || undefined;
  const earliest = Math.max(retentionStart, earliestPoint ?? retentionStart);
  const latest = Math.min(nowUnix, latestPoint ?? nowUnix);

  if (targetUnix > nowUnix) throw new DrpError(`--to ${iso(targetUnix)} is in the future (now ${iso(nowUnix)})`, 2);
  if (targetUnix < retentionStart)
    throw new DrpError(`--to ${iso(targetUnix)} is older than the ${retentionDays}-day PITR window (earliest ${iso(retentionStart)}); use drp restore with a weekly export instead`, 2);
  if (earliestPoint && targetUnix < earliestPoint)
    throw new DrpError(`--to ${iso(targetUnix)} is before the project's earliest recovery point ${iso(earliestPoint)}`, 2);
  if (latestPoint && targetUnix > latestPoint)
    throw new DrpError(`--to ${iso(targetUnix)} is after the project's latest recovery point ${iso(latestPoint)}; pick an earlier time or wait for the next WAL upload (about 2 minutes)`, 2);

  return {
    projectRef: ref,
    target: iso(targetUnix),
    targetUnix,
    window: { earliest: iso(earliest), latest: iso(latest), retentionDays },
    request: { method: "POST", path: `/v1/projects/${ref}/database/backups/restore-pitr`, body: { recovery_time_target_unix: targetUnix } },
    confirmFlag: `--confirm ${ref}`,
  };
}

/** Statuses after which waiting is pointless. */
export const FAILED_STATUSES = new Set(["RESTORE_FAILED", "INIT_FAILED", "REMOVED", "PAUSE_FAILED"]);
export const HEALTHY = "ACTIVE_HEALTHY";

export interface FollowOptions {
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** If the project never leaves ACTIVE_HEALTHY within this time, the restore is not confirmed. */
  readonly startGraceMs?: number;
  readonly onStatus?: (status: string, elapsedSeconds: number) => void;
}

export interface PitrOutcome {
  readonly finalStatus: string;
  readonly elapsedSeconds: number;
  readonly statuses: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends the restore and follows the project until it is healthy again, fails, or the timeout passes. */
export async function runPitr(api: SupabaseApi, plan: PitrPlan, follow: FollowOptions): Promise<PitrOutcome> {
  const ref = plan.projectRef;
  try {
    await api.restorePitr(ref, plan.targetUnix);
  } catch (e) {
    if (e instanceof TransientApiError)
      throw new DrpError(`${e.message}; the restore may or may not have started: check the project in the dashboard before retrying`, 1);
    throw e;
  }
  const started = Date.now();
  const elapsed = () => Math.round((Date.now() - started) / 1000);
  const grace = follow.startGraceMs ?? Math.min(5 * 60_000, follow.timeoutMs);
  const statuses: string[] = [];
  let left = false;
  let failures = 0;
  for (;;) {
    await sleep(follow.pollMs);
    let status: string;
    try {
      status = (await api.getProject(ref)).status;
      failures = 0;
    } catch (e) {
      if (!(e instanceof TransientApiError) || ++failures >= 5) throw new DrpError(`following the restore of ${ref}: ${(e as Error).message}`, 1);
      continue;
    }
    if (statuses[statuses.length - 1] !== status) {
      statuses.push(status);
      follow.onStatus?.(status, elapsed());
    }
    if (FAILED_STATUSES.has(status)) throw new DrpError(`restore of ${ref} to ${plan.target} failed: project status ${status}; see the Supabase dashboard and contact support`, 1);
    if (status !== HEALTHY) left = true;
    else if (left) return { finalStatus: status, elapsedSeconds: elapsed(), statuses };
    const ms = Date.now() - started;
    if (!left && ms >= grace)
      throw new DrpError(`Supabase accepted the restore of ${ref} but the project stayed ${HEALTHY} for ${elapsed()} s; check the dashboard to confirm it ran`, 1);
    if (ms >= follow.timeoutMs)
      throw new DrpError(`restore of ${ref} still ${status} after ${elapsed()} s (--timeout); it continues at Supabase: watch the dashboard, do not start another restore`, 1);
  }
}
