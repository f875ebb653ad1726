/**
 * The plan's policy checks, run as a validation of every stack at synth: `cdktf synth` fails, naming the
 * construct path, the rule and the fix, when a bucket lacks encryption, versioning or a public access
 * block, a lifecycle rule lacks a filter, a secret is in plain text, state sits in the primary region, or
 * the detection alarm would fire too early.
 */
import type { TerraformStack } from "cdktf";
import type { Deployment } from "../config";
import { bucketEncryption } from "./bucket-encryption";
import { bucketPublicAccessBlock } from "./bucket-public-access-block";
import { bucketVersioning } from "./bucket-versioning";
import { detectionWindow } from "./detection-window";
import { lifecycleFilter } from "./lifecycle-filter";
import { plaintextSecret } from "./plaintext-secret";
import type { PolicyRule, ResourceView, StackView } from "./rule";
import { stateBucketRegion } from "./state-bucket-region";

export const RULES: readonly PolicyRule[] = [
  bucketEncryption,
  bucketVersioning,
  bucketPublicAccessBlock,
  lifecycleFilter,
  plaintextSecret,
  stateBucketRegion,
  detectionWindow,
];

export interface Violation {
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

type Json = Record<string, Record<string, Record<string, unknown>>>;

/** The resolved view of a stack that rules read. */
export function stackView(stack: TerraformStack, deployment: Deployment): StackView {
  const tf = stack.toTerraform() as { resource?: Json; terraform?: { backend?: { s3?: Record<string, unknown> } } };
  const resources: ResourceView[] = [];
  for (const [type, byId] of Object.entries(tf.resource ?? {}))
    for (const [logicalId, config] of Object.entries(byId)) {
      const meta = (config["//"] as { metadata?: { path?: string } } | undefined)?.metadata;
      resources.push({ type, logicalId, path: meta?.path ?? `${stack.node.id}/${logicalId}`, config });
    }
  return { stackName: stack.node.id, resources, backend: tf.terraform?.backend?.s3, deployment };
}

export function evaluate(view: StackView, rules: readonly PolicyRule[] = RULES): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    const whole = rule.checkStack?.(view);
    if (whole) out.push({ rule: rule.id, path: view.stackName, message: whole });
    for (const r of view.resources) {
      const message = rule.check(r, view);
      if (message) out.push({ rule: rule.id, path: r.path, message });
    }
  }
  return out;
}

export function formatViolation(v: Violation): string {
  return `[${v.path}] ${v.rule}: ${v.message}`;
}

/** Adds the checks to a stack; they run when the stack synthesizes (not in Testing.synth without validations). */
export function applyPolicies(stack: TerraformStack, deployment: Deployment, rules: readonly PolicyRule[] = RULES): void {
  stack.node.addValidation({ validate: () => evaluate(stackView(stack, deployment), rules).map(formatViolation) });
}
