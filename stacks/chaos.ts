/**
 * Chaos experiments (declared only with `-c chaos=on`): FIS experiment templates against the primary
 * region's service, stopped by the public health alarm and alarms of their own.
 */
import { Construct } from "constructs";
import { chaosSettings, type Deployment } from "../constructs/config";
import { ChaosExperiments } from "../constructs/chaos-experiments";
import type { HealthAlarm } from "../constructs/health-alarm";
import type { RegionalService } from "../constructs/regional-service";
import { DrpStack } from "./drp-stack";

export class ChaosStack extends DrpStack {
  readonly experiments: ChaosExperiments;

  constructor(scope: Construct, deployment: Deployment, target: RegionalService, health: HealthAlarm) {
    const { config } = deployment;
    const region = config.regions.primary;
    super(scope, "chaos", { deployment, homeRegion: region });
    const chaos = chaosSettings(config);
    this.experiments = new ChaosExperiments(this, "experiments", {
      name: config.project,
      region,
      clusterName: target.cluster.name,
      clusterArn: target.cluster.arn,
      serviceName: target.service.name,
      loadBalancerArnSuffix: target.loadBalancer.arnSuffix,
      targetGroupArnSuffix: target.targetGroup.arnSuffix,
      stopAlarmArns: [health.alarm.arn],
      aiHosts: chaos.aiHosts,
      paymentHosts: chaos.paymentHosts,
      aiLatencyMs: chaos.aiLatencyMs,
      durationMinutes: chaos.durationMinutes,
      stopTaskPercent: chaos.stopTaskPercent,
      max5xxPerMinute: chaos.max5xxPerMinute,
      maxResponseSeconds: chaos.maxResponseSeconds,
      logRetentionDays: config.retention.logDays,
    });
  }
}
