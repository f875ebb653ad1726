#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so `npx drp` works right after `npm ci` with no build step.
require("tsx/cjs");
require("../scripts/drp.ts").main();
