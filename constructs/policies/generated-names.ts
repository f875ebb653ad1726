import { nameProblem, type NameKind } from "../names";
import { PolicyRule, ruleId } from "./rule";

/** Where each named resource keeps its name, and which service rule applies. */
const NAMED: Readonly<Record<string, { attribute: string; kind: NameKind }>> = {
  aws_lb: { attribute: "name", kind: "loadBalancer" },
  aws_lb_target_group: { attribute: "name", kind: "targetGroup" },
  aws_elasticache_replication_group: { attribute: "replication_group_id", kind: "redisReplicationGroup" },
  aws_elasticache_subnet_group: { attribute: "name", kind: "cacheSubnetGroup" },
  aws_iam_role: { attribute: "name", kind: "iamRole" },
  aws_ecs_cluster: { attribute: "name", kind: "ecs" },
  aws_ecs_service: { attribute: "name", kind: "ecs" },
  aws_ecs_task_definition: { attribute: "family", kind: "ecs" },
  aws_sqs_queue: { attribute: "name", kind: "sqsQueue" },
  aws_scheduler_schedule: { attribute: "name", kind: "schedule" },
  aws_cloudwatch_event_rule: { attribute: "name", kind: "eventRule" },
  aws_sns_topic: { attribute: "name", kind: "snsTopic" },
  aws_kms_alias: { attribute: "name", kind: "kmsAlias" },
};

export const generatedNames: PolicyRule = {
  id: ruleId(__filename),
  description: "Names built from the configuration meet each service's length and character rules",
  check(r) {
    const named = NAMED[r.type];
    const value = named && r.config[named.attribute];
    if (typeof value !== "string" || value.includes("${")) return undefined;
    return nameProblem(named.kind, value, `${named.attribute} (made from the configuration's project)`);
  },
};
