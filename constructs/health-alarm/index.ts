/**
 * HealthAlarm: detection. A Route 53 health check of the public endpoint and an alarm that fires only
 * after the endpoint has been unhealthy for MORE than `unhealthyMinutes` consecutive minutes (one-minute
 * periods, every one of them breaching), so a blip never pages. OK actions resolve the incident.
 * Route 53 health-check metrics exist only in us-east-1, so the alarm lives there.
 */
import { Construct } from "constructs";
import { Route53HealthCheck } from "@cdktf/provider-aws/lib/route53-health-check";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { alertActions } from "../alerting";

export const HEALTH_METRICS_REGION = "us-east-1";
/** Tag that marks the detection alarm for the detection-window policy. */
export const DETECTION_TAG = { "drp:alarm": "detection" } as const;

export interface HealthAlarmProps {
  readonly name: string;
  /** Public hostname probed over HTTPS. */
  readonly hostname: string;
  /** @default "/healthz" */
  readonly path?: string;
  /** The alarm fires after more than this many consecutive unhealthy minutes. @default 5 */
  readonly unhealthyMinutes?: number;
  /** SNS topic in us-east-1 for ALARM and OK. */
  readonly topicArn: string;
}

export class HealthAlarm extends Construct {
  readonly healthCheck: Route53HealthCheck;
  readonly alarm: CloudwatchMetricAlarm;

  constructor(scope: Construct, id: string, props: HealthAlarmProps) {
    super(scope, id);
    const minutes = props.unhealthyMinutes ?? 5;
    if (!Number.isInteger(minutes) || minutes < 5) throw new Error(`${this.node.path}: unhealthyMinutes must be a whole number of at least 5, got ${minutes}`);
    this.healthCheck = new Route53HealthCheck(this, "check", {
      type: "HTTPS",
      fqdn: props.hostname,
      port: 443,
      resourcePath: props.path ?? "/healthz",
      requestInterval: 30,
      failureThreshold: 3,
      measureLatency: true,
      enableSni: true,
      tags: { Name: `${props.name}-public-health` },
    });
    const periods = minutes + 1;
    this.alarm = new CloudwatchMetricAlarm(this, "alarm", {
      region: HEALTH_METRICS_REGION,
      alarmName: `${props.name}-public-endpoint-down`,
      alarmDescription: `https://${props.hostname}${props.path ?? "/healthz"} has failed its health check for more than ${minutes} minutes. Runbook: README "Failover".`,
      namespace: "AWS/Route53",
      metricName: "HealthCheckStatus",
      dimensions: { HealthCheckId: this.healthCheck.id },
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "missing",
      ...alertActions(props.topicArn),
      tags: { ...DETECTION_TAG },
    });
  }
}
