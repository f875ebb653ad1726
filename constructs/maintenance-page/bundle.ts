/**
 * Bundles the maintenance Worker into one ES module with esbuild. The edge stack deploys exactly this
 * code and the tests run exactly this code. Output is deterministic: paths are relative to the repository
 * and nothing time-dependent goes in, so the hash changes only when the source does.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";

export interface WorkerBundle {
  /** The Worker as an ES module (main module of the Workers script). */
  readonly code: string;
  /** Hex SHA-256 of `code`. */
  readonly sha256: string;
}

const REPO_ROOT = resolve(__dirname, "..", "..");
const ENTRY = join("constructs", "maintenance-page", "worker", "index.ts");

let cached: WorkerBundle | undefined;

export function bundleWorker(): WorkerBundle {
  if (cached) return cached;
  const result = buildSync({
    absWorkingDir: REPO_ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    charset: "utf8",
    legalComments: "none",
    sourcemap: false,
    logLevel: "silent",
  });
  if (result.errors.length) throw new Error(`cannot bundle the maintenance Worker: ${result.errors[0].text}`);
  const code = result.outputFiles[0].text;
  cached = { code, sha256: createHash("sha256").update(code).digest("hex") };
  return cached;
}
