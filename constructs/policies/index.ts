/**
 * The plan's policy checks, run as a validation of every stack at synth: `cdktf synth` fails, naming the
 * construct path, the rule and the fix, when a bucket lacks encryption, versioning or a public access
 * block, a lifecycle rule lacks a filter, a secret is in plain text, state sits in the primary region, the
 * detection alarm would fire too early, or the plan would fail at apply time where the schema cannot see
 * it (alert topic keys, S3 metric dimensions, Fargate sizes, generated names, secret read order), or a
 * fault-injection experiment could run unbounded or without an alarm to stop it.
 * A construct that must be exempt says so with suppressPolicy and a reason; the finding is then reported,
 * not raised.
 */
import { Annotations, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import type { Deployment } from "../config";
import { bucketEncryption } from "./bucket-encryption";
import { bucketPublicAccessBlock } from "./bucket-public-access-block";
import { bucketVersioning } from "./bucket-versioning";
import { detectionWindow } from "./detection-window";
import { lifecycleFilter } from "./lifecycle-filter";
import { plaintextSecret } from "./plaintext-secret";
import { fargateSize } from "./fargate-size";
import { fisExperimentBounds } from "./fis-experiment-bounds";
import { generatedNames } from "./generated-names";
import type { AppStackView, AppView, PolicyRule, ResourceView, StackView } from "./rule";
import { s3MetricDimensions } from "./s3-metric-dimensions";
import { secretReadOrder } from "./secret-read-order";
import { snsTopicKey } from "./sns-topic-key";
import { stateBucketRegion } from "./state-bucket-region";
import { suppressionsUnder, type Suppression } from "./suppressions";

export { suppressPolicy } from "./suppressions";

export const RULES: readonly PolicyRule[] = [
  bucketEncryption,
  bucketVersioning,
  bucketPublicAccessBlock,
  lifecycleFilter,
  plaintextSecret,
  stateBucketRegion,
  detectionWindow,
  snsTopicKey,
  s3MetricDimensions,
  fargateSize,
  generatedNames,
  secretReadOrder,
  fisExperimentBounds,
];

export interface Violation {
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

export interface SuppressedViolation extends Violation {
  readonly reason: string;
}

type Json = Record<string, Record<string, Record<string, unknown>>>;
type StackJson = {
  resource?: Json;
  data?: Json;
  provider?: { aws?: { alias?: string; assume_role?: { role_arn?: string }[] }[] };
  terraform?: { backend?: { s3?: Record<string, unknown> } };
};

const metaPath = (config: Record<string, unknown>) => (config["//"] as { metadata?: { path?: string } } | undefined)?.metadata?.path;

function appStackView(stack: TerraformStack): AppStackView {
  const tf = stack.toTerraform() as StackJson;
  const createdSecrets = Object.values(tf.resource?.aws_secretsmanager_secret ?? {})
    .map((s) => s.name)
    .filter((n): n is string => typeof n === "string");
  const secretReads = [
    ...Object.entries(tf.data?.aws_secretsmanager_secret ?? {}).map(([id, d]) => ({ secret: d.name, path: metaPath(d) ?? `${stack.node.id}/${id}` })),
    ...Object.entries(tf.data?.aws_secretsmanager_secret_version ?? {}).map(([id, d]) => ({ secret: d.secret_id, path: metaPath(d) ?? `${stack.node.id}/${id}` })),
  ].filter((r): r is { secret: string; path: string } => typeof r.secret === "string" && !r.secret.includes("${"));
  const aws = (tf.provider?.aws ?? []).find((p) => !p.alias);
  const account = aws?.assume_role?.[0]?.role_arn ?? "";
  return { name: stack.node.id, account, dependsOn: stack.dependencies.map((d) => d.node.id), createdSecrets, secretReads };
}

// Synth validates every stack in one synchronous pass: the app's view is built once for that pass (not
// once per stack) and dropped when it ends, so later changes to the app are seen.
const appViews = new WeakMap<IConstruct, AppView>();

/** Every stack under the stack's parent, in declaration order. */
export function appView(stack: TerraformStack): AppView | undefined {
  const parent = stack.node.scope;
  if (!parent) return undefined;
  let view = appViews.get(parent);
  if (!view) {
    view = { stacks: parent.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c)).map(appStackView) };
    appViews.set(parent, view);
    queueMicrotask(() => appViews.delete(parent));
  }
  return view;
}

/** The resolved view of a stack that rules read. */
export function stackView(stack: TerraformStack, deployment: Deployment): StackView {
  const tf = stack.toTerraform() as StackJson;
  const resources: ResourceView[] = [];
  for (const [type, byId] of Object.entries(tf.resource ?? {}))
    for (const [logicalId, config] of Object.entries(byId)) {
      const meta = (config["//"] as { metadata?: { path?: string } } | undefined)?.metadata;
      resources.push({ type, logicalId, path: meta?.path ?? `${stack.node.id}/${logicalId}`, config });
    }
  return {
    stackName: stack.node.id,
    resources,
    backend: tf.terraform?.backend?.s3,
    deployment,
    get app() {
      return appView(stack);
    },
  };
}

/** Every finding, split into violations and those a construct waived with a recorded reason. */
export function evaluateAll(
  view: StackView,
  rules: readonly PolicyRule[] = RULES,
  suppressions: readonly { path: string; suppression: Suppression }[] = [],
): { violations: Violation[]; suppressed: SuppressedViolation[] } {
  const found: Violation[] = [];
  for (const rule of rules) {
    const whole = rule.checkStack?.(view);
    if (whole) found.push({ rule: rule.id, path: view.stackName, message: whole });
    for (const r of view.resources) {
      const message = rule.check(r, view);
      if (message) found.push({ rule: rule.id, path: r.path, message });
    }
  }
  const violations: Violation[] = [];
  const suppressed: SuppressedViolation[] = [];
  for (const v of found) {
    const waiver = suppressions.find((s) => s.suppression.rule === v.rule && (v.path === s.path || v.path.startsWith(`${s.path}/`)));
    if (waiver) suppressed.push({ ...v, reason: waiver.suppression.reason });
    else violations.push(v);
  }
  return { violations, suppressed };
}

export function evaluate(view: StackView, rules: readonly PolicyRule[] = RULES, suppressions: readonly { path: string; suppression: Suppression }[] = []): Violation[] {
  return evaluateAll(view, rules, suppressions).violations;
}

/** Findings of a stack, as its construct tree declares them waived or not. */
export function evaluateStack(stack: TerraformStack, deployment: Deployment, rules: readonly PolicyRule[] = RULES) {
  return evaluateAll(stackView(stack, deployment), rules, suppressionsUnder(stack));
}

export function formatViolation(v: Violation): string {
  return `[${v.path}] ${v.rule}: ${v.message}`;
}

export function formatSuppressed(v: SuppressedViolation): string {
  return `[${v.path}] ${v.rule} waived: ${v.reason} (finding: ${v.message})`;
}

/**
 * Adds the checks to a stack; they run when the stack synthesizes (not in Testing.synth without
 * validations). Waived findings are reported as info annotations, with their reason.
 */
export function applyPolicies(stack: TerraformStack, deployment: Deployment, rules: readonly PolicyRule[] = RULES): void {
  stack.node.addValidation({
    validate: () => {
      const { violations, suppressed } = evaluateStack(stack, deployment, rules);
      for (const s of suppressed) Annotations.of(stack as IConstruct).addInfo(formatSuppressed(s));
      return violations.map(formatViolation);
    },
  });
}
