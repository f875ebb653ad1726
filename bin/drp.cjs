#!/usr/bin/env node
// `npx drp` works right after `npm ci` with no build step: bin/cli-bundle.cjs builds the TypeScript
// sources into one cached bundle on first use and whenever they change.
// drp writes temporary files (downloads, scratch data): check that directory is writable first, so an
// unusable TMPDIR is one line and exit 1 instead of a failure halfway through a command.
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
require("./cli-bundle.cjs")
  .drp.load()
  .then(
    (cli) => cli.main(),
    (e) => {
      process.stderr.write(`drp: ${e.message}\n`);
      process.exit(1);
    },
  );
