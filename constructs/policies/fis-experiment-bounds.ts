import { durationMinutes, FIS_ACTIONS, FIS_MAX_DURATION_MINUTES, FIS_MIN_DURATION_MINUTES, isFisAction } from "../chaos-experiments/fis-actions";
import { PolicyRule, ruleId } from "./rule";

type Action = { name?: string; action_id?: string; parameter?: { key: string; value: string }[] };
type StopCondition = { source?: string; value?: string };

/**
 * A fault injected into the serving region must stop on its own and stop early when the app suffers:
 * every FIS experiment template has a CloudWatch alarm stop condition, and every action is one FIS
 * documents, with only its documented parameters, timed ones for 1 minute to 12 hours.
 */
export const fisExperimentBounds: PolicyRule = {
  id: ruleId(__filename),
  description: "FIS experiment templates stop on an alarm and every fault is bounded in time",
  check(r) {
    if (r.type !== "aws_fis_experiment_template") return undefined;
    const problems: string[] = [];
    const stops = (r.config.stop_condition as StopCondition[] | undefined) ?? [];
    if (!stops.some((s) => s.source === "aws:cloudwatch:alarm" && s.value))
      problems.push('it has no CloudWatch alarm stop condition; add stop_condition { source = "aws:cloudwatch:alarm", value = <alarm ARN> }');
    for (const a of (r.config.action as Action[] | undefined) ?? []) {
      const id = a.action_id ?? "";
      if (!isFisAction(id)) {
        problems.push(`action ${a.name} uses ${id}, which this plan does not know; add it to constructs/chaos-experiments/fis-actions.ts from the FIS actions reference`);
        continue;
      }
      const spec = FIS_ACTIONS[id];
      const params = Object.fromEntries((a.parameter ?? []).map((p) => [p.key, p.value]));
      const unknown = Object.keys(params).filter((k) => !spec.parameters.includes(k));
      if (unknown.length) problems.push(`action ${a.name} (${id}) has parameter(s) ${unknown.join(", ")} that FIS does not document; use ${spec.parameters.join(", ") || "none"}`);
      if (!spec.timed) continue;
      const duration = params.duration;
      const minutes = duration === undefined ? undefined : durationMinutes(duration);
      if (duration === undefined) problems.push(`action ${a.name} (${id}) has no duration; give it one, e.g. PT5M`);
      else if (minutes === undefined) problems.push(`action ${a.name} (${id}) has duration "${duration}", not an ISO 8601 duration such as PT5M`);
      else if (minutes < FIS_MIN_DURATION_MINUTES || minutes > FIS_MAX_DURATION_MINUTES)
        problems.push(`action ${a.name} (${id}) lasts ${duration}; FIS allows ${FIS_MIN_DURATION_MINUTES} minute to ${FIS_MAX_DURATION_MINUTES / 60} hours`);
    }
    return problems.length ? problems.join("; ") : undefined;
  },
};
