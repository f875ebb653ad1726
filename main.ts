/**
 * The cdktf app: configuration (DRP_CONFIG, default config/drp.config.json) + context
 * (`-c region=primary|secondary -c maintenance=on|off -c image=sha256:...`) -> the plan's stacks.
 *
 * Bad input stops it with exit 2 and one message, no stack trace: an invalid configuration or context
 * (ConfigError), an error a construct throws naming its path, or a policy validation. A failed synth
 * leaves no output that looks current: the previous manifest and stack files are removed, so neither
 * `deploy --skip-synth` nor a reviewer reads stale stacks.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { ConfigError, loadConfig, parseContext, resolveDeployment } from "./constructs/config";
import { defineStacks } from "./stacks";

/** Set by the patched cdktf CLI: the app's bad-input message goes there, and the CLI prints it once. */
const ERROR_FILE_ENV = "DRP_SYNTH_ERROR_FILE";

let app: App | undefined;

function main(): void {
  app = new App();
  const deployment = resolveDeployment(loadConfig(), parseContext(app.node.getAllContext()));
  defineStacks(app, deployment);
  app.synth();
}

/** The message of an error that is bad input rather than a bug in this program. */
function badInput(e: unknown): string | undefined {
  if (e instanceof ConfigError) return e.message;
  if (!(e instanceof Error)) return undefined;
  if (e.message.startsWith("Validation failed with the following errors:")) return e.message.replace(/^Validation failed with the following errors:\s*/, "policy checks failed:\n  ");
  // Constructs throw "<construct path>: <what is wrong and the fix>".
  const paths = app?.node.findAll().map((c) => c.node.path).filter(Boolean) ?? [];
  return paths.some((p) => e.message.startsWith(`${p}: `)) ? e.message : undefined;
}

/** Removes the previous synth's manifest and stack files (Terraform's .terraform directories stay). */
function clearStaleOutput(): void {
  const outdir = process.env.CDKTF_OUTDIR;
  if (!outdir || !existsSync(outdir)) return;
  rmSync(join(outdir, "manifest.json"), { force: true });
  const stacks = join(outdir, "stacks");
  if (existsSync(stacks)) for (const s of readdirSync(stacks)) rmSync(join(stacks, s, "cdk.tf.json"), { force: true });
}

try {
  main();
} catch (e) {
  clearStaleOutput();
  const message = badInput(e);
  if (message === undefined) throw e;
  const text = `drp synth: ${message}\n`;
  if (process.env[ERROR_FILE_ENV]) writeFileSync(process.env[ERROR_FILE_ENV], text);
  else process.stderr.write(text);
  process.exit(2);
}
