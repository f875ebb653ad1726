/** Synthesizes the plan's stacks in memory for a given context, as the tests read them. */
import { TerraformStack, Testing } from "cdktf";
import { loadConfig, parseContext, resolveDeployment, type DrpConfig } from "../../constructs/config";
import { bundleWorker } from "../../constructs/maintenance-page/bundle";
import { terraformLiteral } from "../../constructs/terraform-literal";
import { defineStacks } from "../../stacks";
import type { DrpStack } from "../../stacks/drp-stack";

export type Tf = {
  resource?: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
  terraform?: { backend?: Record<string, any> };
  provider?: Record<string, any[]>;
};

export interface Synthesized {
  readonly stacks: Record<string, Tf>;
  readonly objects: Record<string, DrpStack>;
}

export function synthPlan(context: Record<string, string> = {}, config: DrpConfig = loadConfig()): Synthesized {
  const app = Testing.app();
  defineStacks(app, resolveDeployment(config, parseContext(context)));
  // Every stack the app declares, wherever it was added, not only those defineStacks returns.
  const stacks = app.node.findAll().filter((c): c is DrpStack => TerraformStack.isStack(c));
  stacks.forEach((s) => s.prepareStack());
  const out: Record<string, Tf> = {};
  for (const s of stacks) out[s.node.id] = JSON.parse(Testing.synth(s));
  return { stacks: out, objects: Object.fromEntries(stacks.map((s) => [s.node.id, s])) };
}

/** All resources of a type in a stack, as a list. */
export function resources(tf: Tf, type: string): any[] {
  return Object.values(tf.resource?.[type] ?? {});
}

export function only(tf: Tf, type: string): any {
  const list = resources(tf, type);
  if (list.length !== 1) throw new Error(`expected exactly one ${type}, found ${list.length}`);
  return list[0];
}

/** The stack JSON for snapshots: the Worker bundle is shown by its hash, not its whole source. */
export function forSnapshot(tf: Tf): Tf {
  const copy = JSON.parse(JSON.stringify(tf)) as Tf;
  for (const script of resources(copy, "cloudflare_workers_script"))
    if (script.content === terraformLiteral(bundleWorker().code)) script.content = `<maintenance Worker bundle sha256:${bundleWorker().sha256}>`;
  return copy;
}
