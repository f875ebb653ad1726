/**
 * A policy rule checks one synthesized resource and says what is wrong with it, or nothing when it is
 * compliant or does not apply. Rules read the resolved Terraform JSON (what would really be deployed), one
 * rule per file, the rule's id taken from its file name.
 */
import { basename } from "node:path";
import type { Deployment } from "../config";

export interface ResourceView {
  /** Terraform type, e.g. aws_s3_bucket. */
  readonly type: string;
  /** Logical id in the stack's JSON. */
  readonly logicalId: string;
  /** Construct path, e.g. storage/dr-bucket/storage/bucket. */
  readonly path: string;
  readonly config: Record<string, unknown>;
}

/** What one stack of the app creates and reads, for rules that look across stacks. */
export interface AppStackView {
  readonly name: string;
  /** Stacks it depends on (cdktf dependencies, cross-stack references included). */
  readonly dependsOn: readonly string[];
  /** Names of the Secrets Manager secrets it creates. */
  readonly createdSecrets: readonly string[];
  /** Secrets it reads at plan time (data sources), by literal name, with the reader's construct path. */
  readonly secretReads: readonly { secret: string; path: string }[];
}

/** Every stack of the app, in declaration order (the order of a first deployment). */
export interface AppView {
  readonly stacks: readonly AppStackView[];
}

export interface StackView {
  readonly stackName: string;
  readonly resources: readonly ResourceView[];
  /** The stack's S3 backend block, if any. */
  readonly backend?: Record<string, unknown>;
  readonly deployment: Deployment;
  /** The other stacks of the app, when the stack belongs to one. */
  readonly app?: AppView;
}

export interface PolicyRule {
  readonly id: string;
  readonly description: string;
  /** What is wrong (with the fix), or undefined when compliant or not applicable. */
  check(resource: ResourceView, stack: StackView): string | undefined;
  /** Optional check of the stack as a whole (backend, presence of resources). */
  checkStack?(stack: StackView): string | undefined;
}

export function ruleId(filename: string): string {
  return basename(filename).replace(/\.[jt]s$/, "");
}

/** Terraform interpolation such as ${aws_s3_bucket.x.id}: a reference, never a literal value. */
export function isReference(value: unknown): boolean {
  return typeof value === "string" && /^\$\{.+\}$/s.test(value);
}

/** Resources of `type` whose `bucket` argument points at this bucket resource (by reference or name). */
export function bucketCompanions(bucket: ResourceView, type: string, stack: StackView): ResourceView[] {
  const refs = [`\${aws_s3_bucket.${bucket.logicalId}.id}`, `\${aws_s3_bucket.${bucket.logicalId}.bucket}`];
  const name = bucket.config.bucket;
  return stack.resources.filter((r) => r.type === type && (refs.includes(r.config.bucket as string) || (name !== undefined && r.config.bucket === name)));
}
