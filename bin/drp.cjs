#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so `npx drp` works right after `npm ci` with no build step.
// tsx keeps its compile cache under the temporary directory: check that directory is writable first,
// so an unusable TMPDIR is one line and exit 1 instead of a loader stack trace.
const { mkdtempSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
{
  const dir = tmpdir();
  try {
    rmSync(mkdtempSync(join(dir, "drp-")), { recursive: true, force: true });
  } catch (e) {
    process.stderr.write(`drp: the temporary directory ${dir} is not writable (${e.code || e.message}); set TMPDIR to a writable directory\n`);
    process.exit(1);
  }
}
require("tsx/cjs");
require("../scripts/drp.ts").main();
