/**
 * Proves an export usable without touching production: manifest valid, dump present with the recorded
 * size and SHA-256, readable by pg_restore, and (with a restore test) restorable with the exact row counts.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { DrpError } from "../lib/cli";
import { runPgTool, spawnPgTool } from "../lib/pg-tools";
import type { ProgressHooks } from "../lib/progress";
import { s3Uri } from "../lib/s3";
import { checkDigest, checkDumpSize, checkListedToc, checkToc, downloadDump, dumpObject, loadManifest, openDump, streamDump, type LoadedManifest } from "./artifact";
import type { DbConnection } from "./connection";
import { expectedCounts } from "./manifest";
import { compareCounts, countTablesIn } from "./tables";
import { withScratchDatabase, withTempDir } from "./workspace";

export interface VerifyOptions extends ProgressHooks {
  readonly s3: S3Client;
  readonly uri: string;
  /** Restore into a scratch database on this server and compare row counts. */
  readonly restoreTest?: { readonly server: DbConnection; readonly jobs?: number };
  readonly tmpDir?: string;
}

export interface VerifyResult {
  readonly manifest: string;
  readonly dump: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly tocEntries: number;
  readonly rowCounts: Record<string, number>;
  readonly restoreTest: { readonly rowCounts: Record<string, number | null> } | null;
}

/** pg_restore --list on the stream while hashing it: nothing is written locally. */
async function verifyStreaming(s3: S3Client, loaded: LoadedManifest, onBytes?: (n: number) => void): Promise<{ sha256: string; tocEntries: number }> {
  const dump = dumpObject(loaded);
  const body = await openDump(s3, dump);
  const list = spawnPgTool("pg_restore", ["--list"], { stdin: "pipe", stdout: "collect" });
  const [digest, toc] = await Promise.allSettled([
    streamDump(body, list.stdin, { mayCloseEarly: true, onBytes }),
    checkListedToc(list.done, loaded.manifest, s3Uri(dump)),
  ]);
  if (digest.status === "rejected") {
    list.kill();
    throw digest.reason;
  }
  checkDigest(digest.value, loaded.manifest, s3Uri(dump));
  if (toc.status === "rejected") throw toc.reason;
  return { sha256: digest.value.sha256, tocEntries: toc.value };
}

export async function verifyExport(opts: VerifyOptions): Promise<VerifyResult> {
  const loaded = await loadManifest(opts.s3, opts.uri);
  const { manifest } = loaded;
  const dump = dumpObject(loaded);
  await checkDumpSize(opts.s3, dump, manifest.dump.bytes);
  const base = { manifest: loaded.uri, dump: s3Uri(dump), bytes: manifest.dump.bytes, rowCounts: manifest.rowCounts };

  if (!opts.restoreTest) {
    opts.onPhase?.("verifying");
    const { sha256, tocEntries } = await verifyStreaming(opts.s3, loaded, opts.onBytes);
    return { ...base, sha256, tocEntries, restoreTest: null };
  }

  const { server } = opts.restoreTest;
  const jobs = opts.restoreTest.jobs ?? Math.min(4, availableParallelism());
  return withTempDir(manifest.dump.bytes, opts.tmpDir, async (dir) => {
    const file = join(dir, "db.dump");
    opts.onPhase?.("downloading");
    const digest = await downloadDump(opts.s3, loaded, file, opts.onBytes);
    const tocEntries = checkToc(await runPgTool("pg_restore", ["--list", file]), manifest, s3Uri(dump));
    opts.onPhase?.("restore test");
    // Partitioned tables are checked as a whole and leaf by leaf.
    const expected = expectedCounts(manifest);
    const counted = await withScratchDatabase(server, async (scratch) => {
      // Ownership and grants are left out: the scratch server may lack the source's roles, and the
      // test is about the data.
      try {
        await runPgTool("pg_restore", ["--exit-on-error", "--no-password", "--no-owner", "--no-privileges", `--jobs=${jobs}`, file], scratch.toolConnection());
      } catch (e) {
        throw new DrpError(`restore test failed: ${(e as Error).message}`, 1);
      }
      return countTablesIn(scratch, Object.keys(expected), "counting rows in the scratch database failed");
    });
    const diff = compareCounts(expected, counted);
    if (diff) throw new DrpError(`restore test row counts differ from the manifest: ${diff}`, 1);
    const actual = Object.fromEntries(Object.keys(manifest.rowCounts).map((t) => [t, counted[t]]));
    return { ...base, sha256: digest.sha256, tocEntries, restoreTest: { rowCounts: actual } };
  });
}
