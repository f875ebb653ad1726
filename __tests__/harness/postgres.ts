/**
 * A real, throwaway PostgreSQL server: initdb in a temporary directory (as the postgres user when running
 * as root, since the server refuses root), pg_ctl start on a free loopback port, removed on stop().
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { pgToolPath } from "../../scripts/lib/pg-tools";

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

function asPostgres(cmd: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const r = root ? spawnSync("runuser", ["-u", "postgres", "--", cmd, ...args], { encoding: "utf8" }) : spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export interface StartOptions {
  /** Extra server settings, e.g. { max_wal_size: "4GB" }. */
  readonly settings?: Readonly<Record<string, string>>;
}

export async function startPostgres(opts: StartOptions = {}): Promise<PgServer> {
  const initdb = pgToolPath("initdb");
  const pgCtl = pgToolPath("pg_ctl");
  const parent = mkdtempSync(join(tmpdir(), "drp-pg-"));
  // mkdtemp makes a 0700 directory; the postgres user must be able to reach its data directory.
  chmodSync(parent, 0o755);
  const data = join(parent, "data");
  mkdirSync(data, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(data, uid, gid);
  }
  try {
    asPostgres(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (e) {
    rmSync(parent, { recursive: true, force: true });
    throw e;
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: data,
    fsync: "off",
    full_page_writes: "off",
    synchronous_commit: "off",
    ...opts.settings,
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

  // A crashed test run must not leave the server behind (exit handlers must be synchronous).
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
  return {
    host,
    port,
    url: urlFor("postgres"),
    urlFor,
    async createDatabase(name) {
      await sql("postgres", `CREATE DATABASE "${name.replace(/"/g, '""')}" TEMPLATE template0`);
      return urlFor(name);
    },
    sql,
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
