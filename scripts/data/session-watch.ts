/**
 * Bounds the restore's own sessions from outside. pg_restore starts every session with
 * `SET lock_timeout = 0; SET statement_timeout = 0;` (its fixed preamble), so settings passed in PGOPTIONS
 * are overridden; a watcher session therefore enforces the limits: it polls the restore's backends, cancels
 * (pg_cancel_backend) one that has waited for a lock or run a statement for too long, and remembers who
 * held the lock (pg_blocking_pids, pg_stat_activity) so the failure can name them.
 */
import type { Client } from "pg";
import { onInterrupt } from "../lib/interrupt";
import { connect, type DbConnection } from "./connection";
import { formatDuration, type RestoreTimeouts } from "./timeouts";

export interface BlockingSession {
  readonly pid: number;
  readonly user: string | null;
  readonly application: string;
  readonly client: string | null;
  readonly state: string | null;
  /** When its transaction (else its current query) started, ISO time. */
  readonly since: string | null;
}

export type WatchTrip =
  | { readonly kind: "lock"; readonly pid: number; readonly waitedMs: number; readonly blockers: readonly BlockingSession[] }
  | { readonly kind: "statement"; readonly pid: number; readonly ranMs: number; readonly query: string };

export interface SessionWatch {
  /** Why the watcher cancelled a session, if it did. */
  readonly trip: WatchTrip | undefined;
  /** Who held locks the watched sessions waited for, at the last poll that saw a wait. */
  readonly lastBlockers: readonly BlockingSession[];
  stop(): Promise<void>;
}

interface ActivityRow {
  pid: number;
  waiting: boolean;
  active: boolean;
  blockers: number[] | null;
  query_start: Date | null;
  query: string | null;
  now: Date;
}

const MAX_NAMED = 5;

/** One line naming the blocking sessions and how to end them. */
export function describeBlockers(blockers: readonly BlockingSession[]): string {
  if (blockers.length === 0) return "the blocking session had already gone when drp looked (see pg_locks and pg_stat_activity)";
  const named = blockers.slice(0, MAX_NAMED).map(
    (b) =>
      `pid ${b.pid} (user ${b.user ?? "?"}, application ${JSON.stringify(b.application)}, client ${b.client ?? "not visible"}, ${b.state ?? "state not visible (needs pg_read_all_stats)"}${b.since ? ` since ${b.since}` : ""})`,
  );
  const more = blockers.length > MAX_NAMED ? ` and ${blockers.length - MAX_NAMED} more` : "";
  const pids = blockers.map((b) => b.pid).join(", ");
  return `held by ${named.join("; ")}${more}; end ${blockers.length > 1 ? "them" : "it"} with SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${pids}) (or stop that client), then run again`;
}

export function describeTrip(trip: WatchTrip): string {
  return trip.kind === "lock"
    ? `waited more than ${formatDuration(trip.waitedMs)} for a lock (lock timeout), ${describeBlockers(trip.blockers)}, or raise --lock-timeout`
    : `a statement ran longer than ${formatDuration(trip.ranMs)} (statement timeout) and was cancelled: ${trip.query}; raise --statement-timeout if the restore's biggest table needs longer`;
}

async function blockerDetails(client: Client, pids: readonly number[]): Promise<BlockingSession[]> {
  if (pids.length === 0) return [];
  const { rows } = await client.query<{ pid: number; user: string | null; application: string; client: string | null; state: string | null; since: Date | null }>(
    // Without pg_read_all_stats, other roles' sessions show no client or state: said so rather than guessed.
    `SELECT pid, usename AS user, application_name AS application,
            CASE WHEN client_port = -1 THEN 'local socket' ELSE host(client_addr) END AS client, state,
            coalesce(xact_start, query_start, backend_start) AS since
       FROM pg_catalog.pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid`,
    [pids],
  );
  return rows.map((r) => ({ ...r, since: r.since ? r.since.toISOString().replace(/\.\d{3}Z$/, "Z") : null }));
}

/** How long an interrupted restore waits for the server to end the watched sessions. */
const INTERRUPT_END_MS = 3_000;

/**
 * Watches the target's sessions named `applicationNames` that start from now on. Polls often enough to
 * enforce the lock timeout within a tenth of it (at most every second, at least every 100 ms).
 */
export async function watchSessions(db: DbConnection, applicationNames: readonly string[], limits: RestoreTimeouts): Promise<SessionWatch> {
  const client = await connect(db, "cannot open the restore's watcher session", "drp-restore-watch");
  let trip: WatchTrip | undefined;
  let lastBlockers: BlockingSession[] = [];
  const firstSeen = new Map<string, number>();
  let started: Date;
  try {
    started = (await client.query<{ now: Date }>("SELECT pg_catalog.clock_timestamp() AS now")).rows[0].now;
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
  const interval = Math.min(1_000, Math.max(100, Math.floor((limits.lockTimeoutMs || 10_000) / 10)));

  /** The watched sessions, in pg_stat_activity ($1: application names, $2: when the watch started). */
  const watched = `FROM pg_catalog.pg_stat_activity
        WHERE datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid()
          AND application_name = ANY($1::text[]) AND backend_start >= $2`;

  const poll = async () => {
    const { rows } = await client.query<ActivityRow>(
      `SELECT pid, wait_event_type = 'Lock' AS waiting, state = 'active' AS active, query_start, left(query, 200) AS query,
              CASE WHEN wait_event_type = 'Lock' THEN pg_catalog.pg_blocking_pids(pid) END AS blockers, clock_timestamp() AS now
         ${watched}`,
      [applicationNames, started],
    );
    const seen = new Set<string>();
    for (const r of rows) {
      const now = r.now.getTime();
      if (r.waiting && r.blockers?.length) {
        // One wait: the same backend, statement and blockers, across polls.
        const key = `${r.pid}/${r.query_start?.getTime()}/${r.blockers.join(",")}`;
        seen.add(key);
        const since = firstSeen.get(key) ?? now;
        firstSeen.set(key, since);
        lastBlockers = await blockerDetails(client, r.blockers);
        if (limits.lockTimeoutMs > 0 && now - since >= limits.lockTimeoutMs && !trip) {
          trip = { kind: "lock", pid: r.pid, waitedMs: limits.lockTimeoutMs, blockers: lastBlockers };
          await client.query("SELECT pg_catalog.pg_cancel_backend($1)", [r.pid]);
        }
      }
      // A lock wait counts as statement time, as it does for the server's own statement_timeout.
      if (r.active && r.query_start && limits.statementTimeoutMs > 0 && now - r.query_start.getTime() >= limits.statementTimeoutMs && !trip) {
        trip = { kind: "statement", pid: r.pid, ranMs: limits.statementTimeoutMs, query: (r.query ?? "").replace(/\s+/g, " ").trim().replace(/;+$/, "").slice(0, 120) };
        await client.query("SELECT pg_catalog.pg_cancel_backend($1)", [r.pid]);
      }
    }
    for (const key of firstSeen.keys()) if (!seen.has(key)) firstSeen.delete(key);
  };

  let stopped = false;
  let wake = () => undefined as void;
  const loop = (async () => {
    while (!stopped) {
      // A failed poll (the target restarting, say) must not end the restore; the next one tries again.
      await poll().catch(() => undefined);
      if (!stopped)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, interval);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
    }
  })();

  // Interrupted (after the pg tools are stopped): a stopped pg_restore's backend can still wait on a lock,
  // holding the locks it took, until the server acts on the cancel pg_restore sent as it exited. End the
  // watched sessions and wait for them to be gone, so drp exits with none of them left.
  const forget = onInterrupt(async () => {
    stopped = true;
    wake();
    await loop;
    try {
      await client.query(`SELECT pg_catalog.pg_terminate_backend(pid) ${watched}`, [applicationNames, started]);
      const until = Date.now() + INTERRUPT_END_MS;
      while ((await client.query<{ n: number }>(`SELECT count(*)::int AS n ${watched}`, [applicationNames, started])).rows[0].n > 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
    } catch {
      // The target is unreachable: its sessions end with it.
    }
    await client.end().catch(() => undefined);
  });

  return {
    get trip() {
      return trip;
    },
    get lastBlockers() {
      return lastBlockers;
    },
    async stop() {
      forget();
      stopped = true;
      wake();
      await loop;
      await client.end().catch(() => undefined);
    },
  };
}
