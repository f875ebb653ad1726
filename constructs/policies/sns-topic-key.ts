import { isReference, PolicyRule, ruleId } from "./rule";

/** An AWS-managed key: its policy cannot be extended, so CloudWatch and EventBridge can never use it. */
const AWS_MANAGED = /(^|:)alias\/aws\//;

export const snsTopicKey: PolicyRule = {
  id: ruleId(__filename),
  description: "Alert topics are encrypted with a customer-managed key (alarms and rules cannot publish to a topic on an AWS-managed key)",
  check(r) {
    if (r.type !== "aws_sns_topic") return undefined;
    const key = r.config.kms_master_key_id;
    if (typeof key !== "string" || isReference(key) || !AWS_MANAGED.test(key)) return undefined;
    return `topic is encrypted with the AWS-managed key ${key}, which CloudWatch alarms and EventBridge rules cannot use, so their notifications fail silently; use a customer-managed key whose policy allows cloudwatch.amazonaws.com and events.amazonaws.com (see Alerting)`;
  },
};
