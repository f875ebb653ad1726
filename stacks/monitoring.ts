/** Detection: alert topics (PagerDuty + Slack) and the public health check with its 5-minute alarm. */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import { Alerting } from "../constructs/alerting";
import { HEALTH_METRICS_REGION, HealthAlarm } from "../constructs/health-alarm";
import { DrpStack } from "./drp-stack";

export class MonitoringStack extends DrpStack {
  readonly alerting: Alerting;
  readonly health: HealthAlarm;

  constructor(scope: Construct, deployment: Deployment) {
    super(scope, "monitoring", { deployment, homeRegion: HEALTH_METRICS_REGION });
    const { config } = deployment;
    this.alerting = new Alerting(this, "alerting", {
      name: config.project,
      regions: [HEALTH_METRICS_REGION, config.regions.storage, config.files.region],
      pagerdutySecretName: config.detection.pagerdutySecretName,
      secretRegion: config.regions.storage,
      slackWorkspaceId: config.detection.slack.workspaceId,
      slackChannelId: config.detection.slack.channelId,
    });
    this.health = new HealthAlarm(this, "health", {
      name: config.project,
      hostname: config.edge.appHostname,
      path: config.app.healthPath,
      unhealthyMinutes: config.detection.unhealthyMinutes,
      topicArn: this.alerting.topicArn(HEALTH_METRICS_REGION),
    });
  }
}
