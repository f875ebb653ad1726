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

/** Reads the project's status (it must be ACTIVE_HEALTHY) and backups, and checks the target against every bound; throws one line per violation kind. */
export async function planPitr(api: SupabaseApi, ref: string, target: Date, retentionDays: number, now = new Date()): Promise<PitrPlan> {
  checkProjectRef(ref);
  // The project first: a second restore on top of a running one, or one on a paused project, is never wanted.
  refuseUnlessHealthy(ref, (await api.getProject(ref)).status);
  const backups = await api.listBackups(ref);
  if (!backups.pitr_enabled)
    throw new DrpError(`point-in-time recovery is not enabled on project ${ref}; restore a daily backup in the dashboard, or an export with drp restore`, 1);
  const phys = backups.physical_backup_data ?? {};
  const earliestPoint = phys.earliest_physical_backup_date_unix || undefined;
  const latestPoint = phys.latest_physical_backup_date_unix || undefined;
  // Without both ends the window is a guess, and a guess can send a restore to a time Supabase cannot reach.
  if (!earliestPoint || !latestPoint)
    throw new DrpError(
      `the recovery window of project ${ref} is unknown (the backups API reports no ${!earliestPoint && !latestPoint ? "earliest or latest" : !earliestPoint ? "earliest" : "latest"} recovery point in physical_backup_data); nothing was done: check Database > Backups > Point in Time at ${dashboardUrl(ref)}, or restore a weekly export with drp restore`,
      1,
    );

  const targetUnix = Math.floor(target.getTime() / 1000);
  const nowUnix = Math.floor(now.getTime() / 1000);
  const retentionStart = nowUnix - retentionDays * 86_400;
  const earliest = Math.max(retentionStart, earliestPoint);
  const latest = Math.min(nowUnix, latestPoint);

  if (targetUnix > nowUnix) throw new DrpError(`--to ${iso(targetUnix)} is in the future (now ${iso(nowUnix)})`, 2);
  if (targetUnix < retentionStart)
    throw new DrpError(`--to ${iso(targetUnix)} is older than the ${retentionDays}-day PITR window (earliest ${iso(retentionStart)}); use drp restore with a weekly export instead`, 2);
  if (targetUnix < earliestPoint)
    throw new DrpError(`--to ${iso(targetUnix)} is before the project's earliest recovery point ${iso(earliestPoint)}`, 2);
  if (targetUnix > latestPoint)
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
/** A paused project: the Management API reports INACTIVE (PAUSED is the dashboard's word). */
const PAUSED_STATUSES = new Set(["INACTIVE", "PAUSED", "PAUSING"]);
/** Work Supabase is doing on the project; it ends on its own. */
const BUSY_STATUSES = new Set(["COMING_UP", "RESTARTING", "UPGRADING", "RESIZING", "GOING_DOWN"]);

export const dashboardUrl = (ref: string) => `https://supabase.com/dashboard/project/${ref}`;

/** How an operator checks a project's restore, in words they can paste. */
export function howToCheck(ref: string): string {
  return `check with drp pitr status --project-ref ${ref} (or GET /v1/projects/${ref} of the Management API: ${HEALTHY} when done) or at ${dashboardUrl(ref)}`;
}

/** Why a project in `status` cannot take a restore now, and what to do; undefined when it can. */
export function statusGuidance(ref: string, status: string): string | undefined {
  if (status === HEALTHY) return undefined;
  const is = `project ${ref} is ${status}`;
  if (status === "RESTORING") return `${is}: a restore is already running; follow it with drp pitr status --project-ref ${ref} --wait (or at ${dashboardUrl(ref)}) and do not start another`;
  if (PAUSED_STATUSES.has(status))
    return `${is} (paused): resume it first (Restore project at ${dashboardUrl(ref)}, or POST /v1/projects/${ref}/restore), wait until drp pitr status --project-ref ${ref} shows ${HEALTHY}, then run drp pitr again`;
  if (BUSY_STATUSES.has(status)) return `${is}: Supabase is working on it; wait until drp pitr status --project-ref ${ref} shows ${HEALTHY}, then run drp pitr again`;
  if (FAILED_STATUSES.has(status))
    return `${is}: it cannot be restored in place; contact Supabase support, or restore a weekly export into a new project with drp restore`;
  if (status === "ACTIVE_UNHEALTHY") return `${is}: some of its services are down; check ${dashboardUrl(ref)} and wait for ${HEALTHY} before a restore`;
  return `${is}, not ${HEALTHY}; check ${dashboardUrl(ref)} and run drp pitr again once it is ${HEALTHY}`;
}

function refuseUnlessHealthy(ref: string, status: string): void {
  const why = statusGuidance(ref, status);
  if (why) throw new DrpError(`${why}; nothing was done`, 1);
}

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
      throw new DrpError(`${e.message}; the restore may or may not have started at Supabase: ${howToCheck(ref)} before retrying`, 1);
    throw e;
  }
  return followProject(api, ref, follow, { what: `restore of ${ref} to ${plan.target}`, mustLeaveHealthy: true });
}

/** Follows a project (after a restore, or one already running) until it is ACTIVE_HEALTHY, fails, or the timeout passes. */
export async function followProject(
  api: SupabaseApi,
  ref: string,
  follow: FollowOptions,
  how: { readonly what: string; readonly mustLeaveHealthy: boolean },
): Promise<PitrOutcome> {
  const started = Date.now();
  const elapsed = () => Math.round((Date.now() - started) / 1000);
  const grace = follow.startGraceMs ?? Math.min(5 * 60_000, follow.timeoutMs);
  const stillRunning = (why: string) =>
    new DrpError(`${why}; the restore may still be running at Supabase: ${howToCheck(ref)}; do not start another restore`, 1);
  const statuses: string[] = [];
  let left = !how.mustLeaveHealthy;
  let failures = 0;
  for (let first = true; ; first = false) {
    if (!first || how.mustLeaveHealthy) await sleep(follow.pollMs);
    let status: string;
    try {
      status = (await api.getProject(ref)).status;
      failures = 0;
    } catch (e) {
      // A network error or a 5xx says nothing about the restore itself: retry a few times, then say so.
      if (!(e instanceof TransientApiError) || ++failures >= 5 || Date.now() - started >= follow.timeoutMs)
        throw stillRunning(`following the ${how.what} failed after ${elapsed()} s (${(e as Error).message})`);
      continue;
    }
    if (statuses[statuses.length - 1] !== status) {
      statuses.push(status);
      follow.onStatus?.(status, elapsed());
    }
    if (FAILED_STATUSES.has(status)) throw new DrpError(`${how.what} failed: project status ${status}; see ${dashboardUrl(ref)} and contact Supabase support`, 1);
    if (status !== HEALTHY) left = true;
    else if (left) return { finalStatus: status, elapsedSeconds: elapsed(), statuses };
    const ms = Date.now() - started;
    if (!left && ms >= grace)
      throw new DrpError(`Supabase accepted the ${how.what} but the project stayed ${HEALTHY} for ${elapsed()} s; ${howToCheck(ref)} to confirm it ran`, 1);
    if (ms >= follow.timeoutMs) throw stillRunning(`${how.what}: project still ${status} after ${elapsed()} s (--timeout)`);
  }
}

export interface PitrStatus {
  readonly projectRef: string;
  readonly status: string;
  readonly healthy: boolean;
  /** What to do when it is not healthy. */
  readonly guidance: string | null;
  readonly pitrEnabled: boolean | null;
  /** The project's recovery points, when the backups API reports both. */
  readonly window: { readonly earliest: string; readonly latest: string } | null;
  readonly dashboard: string;
}

/** The project's status and recovery window, read-only: what `drp pitr status` prints. */
export async function pitrStatus(api: SupabaseApi, ref: string): Promise<PitrStatus> {
  checkProjectRef(ref);
  const { status } = await api.getProject(ref);
  // The backups endpoint may be unavailable while a restore runs: the status alone still answers.
  const backups = await api.listBackups(ref).catch((e: unknown) => {
    if (e instanceof TransientApiError) return undefined;
    throw e;
  });
  const phys = backups?.physical_backup_data ?? {};
  const [earliest, latest] = [phys.earliest_physical_backup_date_unix, phys.latest_physical_backup_date_unix];
  return {
    projectRef: ref,
    status,
    healthy: status === HEALTHY,
    guidance: statusGuidance(ref, status) ?? null,
    pitrEnabled: backups ? backups.pitr_enabled : null,
    window: earliest && latest ? { earliest: iso(earliest), latest: iso(latest) } : null,
    dashboard: dashboardUrl(ref),
  };
}
