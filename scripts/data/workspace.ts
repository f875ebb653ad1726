/**
 * Local room for a downloaded dump (checked for free space first, removed afterwards, also on Ctrl-C)
 * and throwaway scratch databases for restore tests.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { escapeIdentifier } from "pg";
import { DrpError } from "../lib/cli";
import { onInterrupt } from "../lib/interrupt";
import { formatBytes } from "../lib/progress";
import { confirmToolTarget, connect, databaseIdentity, describePgError, type DbConnection } from "./connection";

/** Runs `fn` with a private temporary directory that has room for `bytes`; always removes it. */
export async function withTempDir<T>(bytes: number, base: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  const parent = base || tmpdir();
  let dir: string;
  try {
    dir = mkdtempSync(join(parent, "drp-"));
  } catch (e) {
    throw new DrpError(`cannot create a temporary directory in ${parent}: ${(e as Error).message}; set TMPDIR to a writable disk`, 1);
  }
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const forget = onInterrupt(cleanup);
  try {
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    // Room for the dump plus a margin for the filesystem's own needs.
    const need = bytes + 64 * 1024 * 1024;
    if (free < need) throw new DrpError(`not enough space in ${parent} for the dump: need ${formatBytes(need)}, have ${formatBytes(free)}; set TMPDIR to a larger disk`, 1);
    return await fn(dir);
  } finally {
    forget();
    cleanup();
  }
}

/** Creates an empty database (from template0) on the server, runs `fn`, and drops it whatever happens. */
export async function withScratchDatabase<T>(server: DbConnection, fn: (scratch: DbConnection) => Promise<T>): Promise<T> {
  const name = `drp_verify_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = await connect(server, "cannot create the scratch database");
  try {
    await admin.query(`CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE template0`);
  } catch (e) {
    await admin.end().catch(() => undefined);
    throw new DrpError(describePgError(e, server, `cannot create the scratch database on ${server.label} (the role needs CREATEDB; or pass --scratch-url)`), 1);
  }
  const drop = async () => {
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
    } catch {
      await admin
        .query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)}`)
        .catch(() => process.stderr.write(`drp: warning: could not drop the scratch database ${name} on ${server.label}; drop it by hand\n`));
    }
    await admin.end().catch(() => undefined);
  };
  // Interrupted: the child tools are stopped first, then the scratch database is dropped all the same.
  const forget = onInterrupt(drop);
  try {
    const scratch = server.withDatabase(name);
    // The restore test writes only into the database created here: libpq must agree on where that is.
    const { systemIdentifier } = await databaseIdentity(admin).catch((e: unknown) => {
      throw new DrpError(describePgError(e, server, "cannot read the scratch server's identity"), 1);
    });
    await confirmToolTarget(scratch, { database: name, systemIdentifier }, "the restore test");
    return await fn(scratch);
  } finally {
    forget();
    await drop();
  }
}
