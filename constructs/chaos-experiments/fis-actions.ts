/**
 * The AWS FIS actions this plan uses, as FIS documents them: their parameter names, whether they run for a
 * `duration`, the SSM document they run and the permissions the experiment role needs for them. The
 * construct builds templates and roles from this table and the fis-experiment-bounds policy rule checks
 * synthesized templates against it, so a misspelt parameter or an unbounded fault fails at synth, not when
 * someone starts the experiment.
 *
 * Source: AWS FIS User Guide, "Actions reference"
 * (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html, sections "Amazon ECS actions",
 * "Wait action" and "Amazon CloudWatch actions") and "Use the AWS FIS aws:ecs:task actions"
 * (https://docs.aws.amazon.com/fis/latest/userguide/ecs-task-actions.html).
 */

export interface FisActionSpec {
  /** Target resource type (none for aws:fis:wait). */
  readonly resourceType?: "aws:ecs:task";
  /** Every parameter name the action documents. */
  readonly parameters: readonly string[];
  /** The action runs for its `duration` parameter (required); otherwise it acts once and ends. */
  readonly timed: boolean;
  /** SSM document run on the tasks (through the SSM agent sidecar). */
  readonly ssmDocument?: string;
  /** IAM actions the experiment role needs, as the reference lists them. */
  readonly permissions: readonly string[];
}

const NETWORK_PERMISSIONS = [
  "ecs:DescribeTasks",
  "ecs:DescribeContainerInstances",
  "ec2:DescribeInstances",
  "ec2:DescribeSubnets",
  "ssm:SendCommand",
  "ssm:ListCommands",
  "ssm:CancelCommand",
] as const;

const ACTIONS = {
  "aws:ecs:stop-task": {
    resourceType: "aws:ecs:task",
    parameters: [],
    timed: false,
    permissions: ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask", "tag:GetResources"],
  },
  "aws:ecs:task-network-latency": {
    resourceType: "aws:ecs:task",
    parameters: ["duration", "delayMilliseconds", "jitterMilliseconds", "flowsPercent", "sources", "installDependencies", "useEcsFaultInjectionEndpoints"],
    timed: true,
    ssmDocument: "AWSFIS-Run-Network-Latency-ECS",
    permissions: NETWORK_PERMISSIONS,
  },
  "aws:ecs:task-network-packet-loss": {
    resourceType: "aws:ecs:task",
    parameters: ["duration", "lossPercent", "flowsPercent", "sources", "installDependencies", "useEcsFaultInjectionEndpoints"],
    timed: true,
    ssmDocument: "AWSFIS-Run-Network-Packet-Loss-ECS",
    permissions: NETWORK_PERMISSIONS,
  },
  "aws:fis:wait": { parameters: ["duration"], timed: true, permissions: [] },
  "aws:cloudwatch:assert-alarm-state": { parameters: ["alarmArns", "alarmStates"], timed: false, permissions: ["cloudwatch:DescribeAlarms"] },
} as const satisfies Record<string, FisActionSpec>;

export type FisActionId = keyof typeof ACTIONS;
export const FIS_ACTIONS: Readonly<Record<FisActionId, FisActionSpec>> = ACTIONS;

export function isFisAction(id: string): id is FisActionId {
  return Object.prototype.hasOwnProperty.call(FIS_ACTIONS, id);
}

/** The longest an action (and an experiment) may run: FIS's documented maximum, 12 hours. */
export const FIS_MAX_DURATION_MINUTES = 12 * 60;
/** The plan's own bound on one fault (config chaos.durationMinutes), well inside FIS's. */
export const CHAOS_MAX_DURATION_MINUTES = 60;
/** The shortest duration FIS accepts for a timed action: one minute. */
export const FIS_MIN_DURATION_MINUTES = 1;
/** Longest action parameter value the provider accepts (aws_fis_experiment_template action.parameter.value). */
export const FIS_PARAMETER_MAX = 1024;
/** Alarms one aws:cloudwatch:assert-alarm-state action can check. */
export const FIS_ASSERT_MAX_ALARMS = 5;
/** What a target's `Tasks` key is called in an ECS task action (the provider's allowed action target keys). */
export const ECS_TASKS_TARGET_KEY = "Tasks";

/** Permissions the experiment role needs to write the experiment log to CloudWatch Logs (FIS "Experiment logging"). */
export const FIS_LOG_DELIVERY_PERMISSIONS = ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"] as const;

/** ISO 8601 duration of whole minutes, as FIS parameters take it (PT5M). */
export function isoMinutes(minutes: number): string {
  if (!Number.isInteger(minutes) || minutes < 1) throw new Error(`a duration must be a whole number of minutes, at least 1; got ${minutes}`);
  return minutes % 60 === 0 ? `PT${minutes / 60}H` : `PT${minutes}M`;
}

/** Minutes of an ISO 8601 duration of hours, minutes and seconds (PT1H30M, PT90S), or undefined when it is not one. */
export function durationMinutes(iso: string): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(iso);
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 60;
}
