/** Bundles the Worker with esbuild, deterministically, once per process. */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { buildSync } from "esbuild";

let cached: { code: string; sha256: string } | undefined;

export function bundleWorker(): { code: string; sha256: string } {
  if (!cached) {
    const out = buildSync({ entryPoints: [join(__dirname, "worker/index.ts")], bundle: true, format: "esm", target: "es2022", write: false, absWorkingDir: __dirname });
    const code = out.outputFiles[0].text;
    cached = { code, sha256: createHash("sha256").update(code).digest("hex") };
  }
  return cached;
}
