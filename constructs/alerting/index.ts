/**
 * Alerting: where alarms go. One SNS topic per region that has alarms (CloudWatch can only notify a
 * topic in its own region), each subscribed to PagerDuty's CloudWatch integration (which opens and
 * resolves incidents from ALARM/OK), and one Slack channel (AWS Chatbot) subscribed to all of them.
 * The PagerDuty integration URL is read from Secrets Manager at deploy time: it is a credential and never
 * appears in the synthesized configuration. Each topic is encrypted with a customer-managed key of its
 * region whose policy lets CloudWatch and EventBridge use it: with the AWS-managed key (alias/aws/sns),
 * whose policy cannot be extended, every alarm action and rule target would fail silently.
 */
import { Construct } from "constructs";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { DataAwsSecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-secret-version";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { ChatbotSlackChannelConfiguration } from "@cdktf/provider-aws/lib/chatbot-slack-channel-configuration";
import { serviceRole } from "../iam";
import { validName } from "../names";

/** Services that publish alerts to the topics, and so must be able to use their key. */
export const ALERT_PUBLISHERS = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] as const;

/** Where an alarm pages: the same topic on ALARM and on OK, so PagerDuty opens and resolves the incident. */
export function alertActions(topicArn: string): { alarmActions: string[]; okActions: string[] } {
  return { alarmActions: [topicArn], okActions: [topicArn] };
}

export interface AlertingProps {
  /** Prefix for topic and configuration names. */
  readonly name: string;
  /** Regions that need a topic. */
  readonly regions: readonly string[];
  /** Secret with the PagerDuty CloudWatch integration URL, and the region it lives in. */
  readonly pagerdutySecretName: string;
  readonly secretRegion: string;
  readonly slackWorkspaceId: string;
  readonly slackChannelId: string;
}

export class Alerting extends Construct {
  private readonly topics = new Map<string, SnsTopic>();

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const regions = [...new Set(props.regions)];
    const pagerduty = new DataAwsSecretsmanagerSecretVersion(this, "pagerduty-url", {
      region: props.secretRegion,
      secretId: props.pagerdutySecretName,
    });
    const account = new DataAwsCallerIdentity(this, "account", {});
    const field = "name (the configuration's project)";
    for (const region of regions) {
      const key = new KmsKey(this, `topic-${region}-key`, {
        region,
        description: `Encrypts the ${props.name} alert topic; CloudWatch alarms and EventBridge rules may use it`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account.accountId}:root` }, Action: "kms:*", Resource: "*" },
            {
              Sid: "AlarmsAndEventsPublish",
              Effect: "Allow",
              Principal: { Service: [...ALERT_PUBLISHERS] },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              Resource: "*",
            },
          ],
        }),
      });
      new KmsAlias(this, `topic-${region}-key-alias`, { region, name: validName(this, "kmsAlias", `alias/${props.name}-alerts`, field), targetKeyId: key.keyId });
      const topic = new SnsTopic(this, `topic-${region}`, { region, name: validName(this, "snsTopic", `${props.name}-alerts`, field), kmsMasterKeyId: key.arn });
      new SnsTopicPolicy(this, `topic-${region}-policy`, {
        region,
        arn: topic.arn,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AlarmsAndEventsPublish",
              Effect: "Allow",
              Principal: { Service: [...ALERT_PUBLISHERS] },
              Action: "sns:Publish",
              Resource: topic.arn,
            },
          ],
        }),
      });
      new SnsTopicSubscription(this, `topic-${region}-pagerduty`, {
        region,
        topicArn: topic.arn,
        protocol: "https",
        endpoint: pagerduty.secretString,
        endpointAutoConfirms: true,
      });
      this.topics.set(region, topic);
    }
    const chatbotRole = serviceRole(this, "slack-role", {
      name: `${props.name}-slack-alerts`,
      service: "chatbot.amazonaws.com",
      statements: [{ Sid: "ReadAlarmContext", Action: ["cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*"], Resource: "*" }],
    });
    new ChatbotSlackChannelConfiguration(this, "slack", {
      configurationName: `${props.name}-alerts`,
      iamRoleArn: chatbotRole.arn,
      slackTeamId: props.slackWorkspaceId,
      slackChannelId: props.slackChannelId,
      snsTopicArns: [...this.topics.values()].map((t) => t.arn),
      loggingLevel: "ERROR",
    });
  }

  /** ARN of the alert topic in a region given at construction. */
  topicArn(region: string): string {
    const topic = this.topics.get(region);
    if (!topic) throw new Error(`${this.node.path}: no alert topic in ${region}; add it to the regions prop`);
    return topic.arn;
  }
}
