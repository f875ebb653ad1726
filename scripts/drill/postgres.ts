/**
 * A real, throwaway PostgreSQL server (the drill's stand-in for Supabase, and the tests' database): initdb
 * in a temporary directory (as the postgres user when running as root, since the server refuses root),
 * pg_ctl start on a free loopback port, removed on stop(). With `archive: true` it archives its WAL, takes
 * real base backups (pg_basebackup) and recovers a new server to a point in time from them
 * (recovery_target_time), which is what Supabase's point-in-time recovery does with its own WAL archive.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { pgToolPath } from "../lib/pg-tools";

export interface PgServer {
  readonly host: string;
  readonly port: number;
  /** URL of the default `postgres` database. */
  readonly url: string;
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL against a database of this server. */
  sql(database: string, text: string): Promise<void>;
  /** With `archive`: where the server archives its WAL segments. */
  readonly archiveDir: string | undefined;
  /** With `archive`: a full base backup (pg_basebackup), returned as its directory. */
  baseBackup(): Promise<string>;
  /** With `archive`: closes the current WAL segment and waits until the archiver has copied it. */
  archiveCurrentWal(): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const asRoot = () => process.getuid?.() === 0;

function asPostgres(cmd: string, args: string[]): void {
  const r = asRoot() ? spawnSync("runuser", ["-u", "postgres", "--", cmd, ...args], { encoding: "utf8" }) : spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** A directory the server's user owns (and can reach: its parent is 0755). */
function postgresDir(path: string): string {
  mkdirSync(path, { mode: 0o700 });
  if (asRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(path, uid, gid);
  }
  return path;
}

export interface StartOptions {
  /** Extra server settings, e.g. { max_wal_size: "4GB" }. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Archive WAL (wal_level replica, archive_mode on) so that base backups and PITR work. */
  readonly archive?: boolean;
}

function tempParent(): string {
  const parent = mkdtempSync(join(tmpdir(), "drp-pg-"));
  // mkdtemp makes a 0700 directory; the postgres user must be able to reach its data directory.
  chmodSync(parent, 0o755);
  return parent;
}

export async function startPostgres(opts: StartOptions = {}): Promise<PgServer> {
  const parent = tempParent();
  const data = postgresDir(join(parent, "data"));
  try {
    asPostgres(pgToolPath("initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (e) {
    rmSync(parent, { recursive: true, force: true });
    throw e;
  }
  const archiveDir = opts.archive ? postgresDir(join(parent, "wal-archive")) : undefined;
  const archiving: Record<string, string> = archiveDir
    ? { wal_level: "replica", archive_mode: "on", archive_command: `'cp %p ${archiveDir}/%f'`, archive_timeout: "0" }
    : {};
  return launch(parent, data, { ...archiving, ...opts.settings }, archiveDir);
}

/**
 * A new server recovered from a base backup and a WAL archive to `target` (transactions committed before
 * it are kept, later ones are not), promoted once it gets there. The source server is not touched.
 */
export async function recoverToTime(backupDir: string, archiveDir: string, target: Date): Promise<PgServer> {
  const parent = tempParent();
  const data = postgresDir(join(parent, "data"));
  asPostgres("cp", ["-a", `${backupDir}/.`, data]);
  asPostgres("touch", [join(data, "recovery.signal")]);
  const conf = join(data, "postgresql.auto.conf");
  const recovery = [
    `restore_command = 'cp ${archiveDir}/%f %p'`,
    `recovery_target_time = '${target.toISOString().replace("T", " ").replace("Z", "+00")}'`,
    "recovery_target_inclusive = off",
    "recovery_target_action = 'promote'",
  ];
  const append = asRoot() ? (text: string) => asPostgres("sh", ["-c", `cat >> '${conf}' <<'EOF'\n${text}\nEOF`]) : (text: string) => appendFileSync(conf, `${text}\n`);
  append(recovery.join("\n"));
  const server = await launch(parent, data, {}, undefined);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = new Client({ connectionString: server.url });
    try {
      await c.connect();
      const r = await c.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
      if (!r.rows[0].r) break;
    } catch {
      // still starting
    } finally {
      await c.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`recovery to ${target.toISOString()} did not finish within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}

async function launch(parent: string, data: string, extra: Record<string, string>, archiveDir: string | undefined): Promise<PgServer> {
  const pgCtl = pgToolPath("pg_ctl");
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: data,
    fsync: "off",
    full_page_writes: "off",
    synchronous_commit: "off",
    ...extra,
  };
  const o = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(" ");
  try {
    asPostgres(pgCtl, ["-D", data, "-l", join(data, "server.log"), "-o", o, "-w", "-t", "60", "start"]);
  } catch (e) {
    let log = "";
    try {
      log = readFileSync(join(data, "server.log"), "utf8");
    } catch {
      // no log yet
    }
    // pg_ctl -w gives up after its timeout while the server may still be starting: stop it, then clean up.
    try {
      asPostgres(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
    } catch {
      // never started
    }
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${log}`);
  }

  // A crashed run must not leave the server behind (exit handlers must be synchronous).
  const stopOnExit = () => {
    try {
      asPostgres(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
    } catch {
      // already stopped
    }
    rmSync(parent, { recursive: true, force: true });
  };
  process.once("exit", stopOnExit);
  const host = "127.0.0.1";
  const urlFor = (db: string) => `postgresql://postgres@${host}:${port}/${encodeURIComponent(db)}`;
  const sql = async (db: string, text: string) => {
    const c = new Client({ connectionString: urlFor(db) });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  const needArchive = (what: string): string => {
    if (!archiveDir) throw new Error(`${what} needs a server started with { archive: true }`);
    return archiveDir;
  };
  let backups = 0;
  return {
    host,
    port,
    url: urlFor("postgres"),
    urlFor,
    archiveDir,
    async createDatabase(name) {
      await sql("postgres", `CREATE DATABASE "${name.replace(/"/g, '""')}" TEMPLATE template0`);
      return urlFor(name);
    },
    sql,
    async baseBackup() {
      needArchive("a base backup");
      const dir = postgresDir(join(parent, `base-${++backups}`));
      asPostgres(pgToolPath("pg_basebackup"), ["-h", host, "-p", String(port), "-U", "postgres", "-D", dir, "-X", "fetch", "-c", "fast", "--no-sync"]);
      return dir;
    },
    async archiveCurrentWal() {
      needArchive("archiving WAL");
      const c = new Client({ connectionString: urlFor("postgres") });
      await c.connect();
      try {
        const { rows } = await c.query<{ f: string }>("SELECT pg_walfile_name(pg_switch_wal()) AS f");
        const deadline = Date.now() + 30_000;
        for (;;) {
          const a = await c.query<{ last: string | null }>("SELECT last_archived_wal AS last FROM pg_stat_archiver");
          if (a.rows[0].last !== null && a.rows[0].last >= rows[0].f) return;
          if (Date.now() > deadline) throw new Error(`WAL segment ${rows[0].f} was not archived within 30 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await c.end();
      }
    },
    async stop() {
      process.off("exit", stopOnExit);
      try {
        asPostgres(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    },
  };
}
