import { DETECTION_TAG } from "../health-alarm";
import { PolicyRule, ruleId } from "./rule";

const [tagKey, tagValue] = Object.entries(DETECTION_TAG)[0];

export const detectionWindow: PolicyRule = {
  id: ruleId(__filename),
  description: "The detection alarm fires only after more than the configured unhealthy minutes (at least 5)",
  check(r, stack) {
    if (r.type !== "aws_cloudwatch_metric_alarm" || (r.config.tags as Record<string, string> | undefined)?.[tagKey] !== tagValue) return undefined;
    const minutes = stack.deployment.config.detection.unhealthyMinutes;
    const period = Number(r.config.period);
    const datapoints = Number(r.config.datapoints_to_alarm ?? r.config.evaluation_periods);
    const seconds = period * datapoints;
    if (!Number.isFinite(seconds)) return "detection alarm has no numeric period and datapoints; set period and datapoints_to_alarm";
    return seconds > minutes * 60
      ? undefined
      : `detection alarm fires after ${seconds}s of failures, not more than ${minutes} minutes; use HealthAlarm or raise period x datapoints_to_alarm above ${minutes * 60}s`;
  },
};
