/**
 * Chaos experiments (declared only with `-c chaos=on`): FIS experiment templates against the primary
 * region's service, stopped by alarms of their own on its target group, plus the public health alarm
 * when that alarm lives in the experiments' region. Route 53 health metrics exist only in us-east-1, and
 * FIS reads a stop-condition alarm (and asserts alarm states) in the experiment's own region, so an alarm
 * from another region is left out rather than risk a template that cannot be created or never passes.
 */
import { Construct } from "constructs";
import { chaosSettings, type Deployment } from "../constructs/config";
import { ChaosExperiments } from "../constructs/chaos-experiments";
import { HEALTH_METRICS_REGION, type HealthAlarm } from "../constructs/health-alarm";
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
      stopAlarmArns: region === HEALTH_METRICS_REGION ? [health.alarm.arn] : [],
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
