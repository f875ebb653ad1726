/**
 * The cdktf app: configuration (DRP_CONFIG, default config/drp.config.json) + context
 * (`-c region=primary|secondary -c maintenance=on|off -c image=sha256:...`) -> the plan's stacks.
 */
import { App } from "cdktf";
import { ConfigError, loadConfig, parseContext, resolveDeployment } from "./constructs/config";
import { defineStacks } from "./stacks";

function main(): void {
  const app = new App();
  const deployment = resolveDeployment(loadConfig(), parseContext(app.node.getAllContext()));
  defineStacks(app, deployment);
  app.synth();
}

try {
  main();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`drp synth: ${e.message}\n`);
  process.exit(2);
}
