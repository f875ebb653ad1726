/**
 * Naming rules of the services whose names this plan generates from the configuration. A generated name
 * that breaks them fails at synth, naming the field, the limit and the fix; it is never cut to fit (a cut
 * name can end in "-" or collide with another). The generated-names policy rule checks the synthesized
 * names against the same table.
 */
import type { Construct } from "constructs";

export interface NameRule {
  /** What the name is, as the service calls it. */
  readonly what: string;
  readonly max: number;
  readonly pattern: RegExp;
  /** The character rules in words, for the error. */
  readonly chars: string;
}

const ALNUM_HYPHEN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const alnumHyphen = "letters, digits and hyphens, not starting or ending with a hyphen";

export const NAME_RULES = {
  loadBalancer: { what: "load balancer name", max: 32, pattern: ALNUM_HYPHEN, chars: alnumHyphen },
  targetGroup: { what: "target group name", max: 32, pattern: ALNUM_HYPHEN, chars: alnumHyphen },
  redisReplicationGroup: {
    what: "ElastiCache replication group id",
    max: 40,
    pattern: /^[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]$/,
    chars: "lowercase letters, digits and hyphens, starting with a letter, no two hyphens in a row, not ending with a hyphen",
  },
  cacheSubnetGroup: { what: "ElastiCache subnet group name", max: 255, pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, chars: "lowercase letters, digits and hyphens" },
  iamRole: { what: "IAM role name", max: 64, pattern: /^[\w+=,.@-]+$/, chars: "letters, digits and +=,.@_-" },
  ecs: { what: "ECS cluster, service or task family name", max: 255, pattern: /^[A-Za-z0-9_-]+$/, chars: "letters, digits, hyphens and underscores" },
  sqsQueue: { what: "SQS queue name", max: 80, pattern: /^[A-Za-z0-9_-]+$/, chars: "letters, digits, hyphens and underscores" },
  schedule: { what: "EventBridge Scheduler schedule name", max: 64, pattern: /^[0-9A-Za-z_.-]+$/, chars: "letters, digits and ._-" },
  eventRule: { what: "EventBridge rule name", max: 64, pattern: /^[0-9A-Za-z_.-]+$/, chars: "letters, digits and ._-" },
  snsTopic: { what: "SNS topic name", max: 256, pattern: /^[A-Za-z0-9_-]+$/, chars: "letters, digits, hyphens and underscores" },
  kmsAlias: { what: "KMS alias", max: 256, pattern: /^alias\/(?!aws\/)[A-Za-z0-9/_-]+$/, chars: "alias/ then letters, digits and /_- (not alias/aws/)" },
} as const satisfies Record<string, NameRule>;

export type NameKind = keyof typeof NAME_RULES;

/** What is wrong with a name, or undefined. `field` names where it comes from, e.g. `name` or `project`. */
export function nameProblem(kind: NameKind, name: string, field: string): string | undefined {
  const rule: NameRule = NAME_RULES[kind];
  if (name.length > rule.max)
    return `${rule.what} "${name}" is ${name.length} characters, over AWS's limit of ${rule.max}; shorten ${field} by ${name.length - rule.max}`;
  if (!rule.pattern.test(name)) return `${rule.what} "${name}" breaks AWS's naming rules (${rule.chars}); change ${field}`;
  return undefined;
}

/** Returns the name when it is valid; otherwise throws naming the construct, the field and the limit. */
export function validName(scope: Construct, kind: NameKind, name: string, field: string): string {
  const problem = nameProblem(kind, name, field);
  if (problem) throw new Error(`${scope.node.path}: ${problem}`);
  return name;
}
