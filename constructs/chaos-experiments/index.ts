/**
 * ChaosExperiments: the plan's four failure scenarios as AWS Fault Injection Service experiment templates
 * against the serving region's ECS service, each with
 * - stop conditions: the alarms given (the public health alarm) plus two of its own on the service's target
 *   group, for the requests the fault should not touch: target 5xx per minute and p95 response time;
 * - a bounded duration (every fault is timed, config chaos.durationMinutes; the fis-experiment-bounds
 *   policy rule checks it);
 * - a least-privilege role per template, with exactly the permissions FIS documents for its actions;
 * - the experiment log in a CloudWatch log group (log schema 2), and empty targets failing the experiment
 *   instead of passing it silently (a pilot-light service has no task to hurt);
 * - the tag SCENARIO_TAG_KEY = scenario id and a Terraform output with the template id, for the runner.
 *
 * The scenarios, and what FIS can and cannot do for them:
 * - ai-latency: aws:ecs:task-network-latency adds chaos.aiLatencyMs to the tasks' traffic towards the AI
 *   provider's hosts (FIS resolves domain names given in `sources`).
 * - payment-down: aws:ecs:task-network-packet-loss with 100% loss towards the payment gateways' hosts.
 *   (aws:ecs:task-network-blackhole-port works by port, not host: it would cut every HTTPS call.)
 * - webhook-disconnect: aws:ecs:stop-task on chaos.stopTaskPercent of the tasks, then a guarded wait while
 *   the service replaces them. Forcing the edge into buffering (the Worker holding Meta webhooks) is not a
 *   FIS action: it is rehearsed by `drp chaos run webhook-disconnect` locally (the origin refused behind the
 *   production Worker), and in staging by hand with `cdktf deploy edge -c maintenance=on` around the run.
 * - comment-spike: FIS has no load action. The template is a guarded window (aws:fis:wait for the duration
 *   with the same stop conditions); the runner sends the spike (`drp chaos spike`) while it runs and stops
 *   sending when the experiment stops.
 *
 * Every template first asserts the steady state (aws:cloudwatch:assert-alarm-state: its stop-condition
 * alarms are OK), so no fault is injected into a service that is already unwell.
 *
 * Fargate requirements on the target tasks are declared by RegionalService's faultInjection prop.
 * Action parameters: AWS FIS User Guide, "Actions reference", Amazon ECS actions
 * (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#ecs-actions-reference).
 */
import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { FisExperimentTemplate, type FisExperimentTemplateAction } from "@cdktf/provider-aws/lib/fis-experiment-template";
import { serviceRole, type PolicyStatement } from "../iam";
import { CHAOS_MAX_DURATION_MINUTES, ECS_TASKS_TARGET_KEY, FIS_ACTIONS, FIS_ASSERT_MAX_ALARMS, FIS_LOG_DELIVERY_PERMISSIONS, FIS_PARAMETER_MAX, isoMinutes, type FisActionId } from "./fis-actions";
import { experimentLogGroupName, SCENARIO_TAG_KEY, SCENARIOS, templateOutputName, type Scenario } from "./scenarios";

export { experimentLogGroupName, SCENARIO_TAG_KEY, SCENARIOS, templateOutputName, type Scenario } from "./scenarios";

export interface ChaosExperimentsProps {
  /** Resource name prefix (the project). */
  readonly name: string;
  /** Region of the targeted service; templates, alarms and logs live there. */
  readonly region: string;
  /** The targeted ECS cluster (name and ARN) and service name. */
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly serviceName: string;
  /** ALB and target group ARN suffixes of the service, for the stop-condition alarms' dimensions. */
  readonly loadBalancerArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  /** Further stop-condition alarms (ARNs), e.g. the public health alarm. @default none */
  readonly stopAlarmArns?: readonly string[];
  /** Hosts of the AI provider. */
  readonly aiHosts: readonly string[];
  /** Hosts of the payment gateways. */
  readonly paymentHosts: readonly string[];
  /** Latency added towards the AI hosts, in milliseconds. */
  readonly aiLatencyMs: number;
  /** Duration of each fault, in minutes (1 to CHAOS_MAX_DURATION_MINUTES). */
  readonly durationMinutes: number;
  /** Share of tasks webhook-disconnect stops (1-100). */
  readonly stopTaskPercent: number;
  /** Stop when target 5xx in one minute exceed this. */
  readonly max5xxPerMinute: number;
  /** Stop when p95 target response time exceeds this (seconds), two minutes in a row. */
  readonly maxResponseSeconds: number;
  /** Retention of the experiment log. @default 30 */
  readonly logRetentionDays?: number;
}

interface ActionPlan {
  readonly name: string;
  readonly actionId: FisActionId;
  readonly parameters: Record<string, string>;
  readonly startAfter?: readonly string[];
  readonly selectionMode?: string;
}

export class ChaosExperiments extends Construct {
  readonly templates: Record<Scenario, FisExperimentTemplate>;
  readonly errorAlarm: CloudwatchMetricAlarm;
  readonly latencyAlarm: CloudwatchMetricAlarm;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: ChaosExperimentsProps) {
    super(scope, id);
    const { durationMinutes: minutes, stopTaskPercent: percent, aiLatencyMs: latencyMs } = props;
    const errors: string[] = [];
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > CHAOS_MAX_DURATION_MINUTES)
      errors.push(`durationMinutes must be a whole number from 1 to ${CHAOS_MAX_DURATION_MINUTES} (config chaos.durationMinutes), got ${minutes}`);
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) errors.push(`stopTaskPercent must be a whole number from 1 to 100 (config chaos.stopTaskPercent), got ${percent}`);
    for (const [field, hosts] of [["aiHosts", props.aiHosts], ["paymentHosts", props.paymentHosts]] as const) {
      if (hosts.length === 0) errors.push(`${field} must name at least one host (config chaos.${field})`);
      if (hosts.join(",").length > FIS_PARAMETER_MAX) errors.push(`${field} joined with commas must fit in ${FIS_PARAMETER_MAX} characters, FIS's parameter limit (config chaos.${field})`);
    }
    const extraAlarms = props.stopAlarmArns?.length ?? 0;
    if (extraAlarms + 2 > FIS_ASSERT_MAX_ALARMS)
      errors.push(`stopAlarmArns may name at most ${FIS_ASSERT_MAX_ALARMS - 2} alarms (with the two of its own, FIS checks up to ${FIS_ASSERT_MAX_ALARMS} in one steady-state assertion)`);
    if (errors.length) throw new Error(`${this.node.path}: ${errors.join("; ")}`);
    const { region, name } = props;
    const duration = isoMinutes(minutes);

    this.logGroup = new CloudwatchLogGroup(this, "log", { region, name: experimentLogGroupName(name), retentionInDays: props.logRetentionDays ?? 30 });
    const dimensions = { LoadBalancer: props.loadBalancerArnSuffix, TargetGroup: props.targetGroupArnSuffix };
    // Quick to fire (one or two one-minute periods): these alarms stop an experiment, they page no one.
    this.errorAlarm = new CloudwatchMetricAlarm(this, "target-5xx", {
      region,
      alarmName: `${name}-chaos-target-5xx`,
      alarmDescription: `Stops chaos experiments: the app answered more than ${props.max5xxPerMinute} 5xx in one minute.`,
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_Target_5XX_Count",
      dimensions,
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: props.max5xxPerMinute,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    this.latencyAlarm = new CloudwatchMetricAlarm(this, "response-time", {
      region,
      alarmName: `${name}-chaos-p95-response-time`,
      alarmDescription: `Stops chaos experiments: p95 response time above ${props.maxResponseSeconds} s for two minutes (requests the fault should not slow).`,
      namespace: "AWS/ApplicationELB",
      metricName: "TargetResponseTime",
      dimensions,
      extendedStatistic: "p95",
      period: 60,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      threshold: props.maxResponseSeconds,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    const stopAlarms = [...(props.stopAlarmArns ?? []), this.errorAlarm.arn, this.latencyAlarm.arn];

    const network = { installDependencies: "true", useEcsFaultInjectionEndpoints: "true", duration };
    const plans: Record<Scenario, { description: string; actions: ActionPlan[] }> = {
      "webhook-disconnect": {
        description: `Meta webhook path failing: stop ${percent}% of the service's tasks, then watch ${minutes} min while ECS replaces them. Hypothesis: webhooks are buffered at the edge or answered, none lost.`,
        actions: [
          { name: "stop-tasks", actionId: "aws:ecs:stop-task", parameters: {}, selectionMode: `PERCENT(${percent})` },
          { name: "observe-recovery", actionId: "aws:fis:wait", parameters: { duration }, startAfter: ["stop-tasks"] },
        ],
      },
      "ai-latency": {
        description: `AI provider answering in ${latencyMs / 1000} s: ${latencyMs} ms added towards ${props.aiHosts.join(", ")} for ${minutes} min. Hypothesis: other sellers' requests are not slowed.`,
        actions: [{ name: "delay-ai", actionId: "aws:ecs:task-network-latency", parameters: { ...network, delayMilliseconds: String(latencyMs), sources: props.aiHosts.join(",") }, selectionMode: "ALL" }],
      },
      "payment-down": {
        description: `Payment gateways down: 100% packet loss towards ${props.paymentHosts.join(", ")} for ${minutes} min. Hypothesis: the bot offers bank transfer, nothing else fails.`,
        actions: [{ name: "drop-payments", actionId: "aws:ecs:task-network-packet-loss", parameters: { ...network, lossPercent: "100", sources: props.paymentHosts.join(",") }, selectionMode: "ALL" }],
      },
      "comment-spike": {
        description: `5,000 comments in one minute: a ${minutes} min window guarded by the stop conditions while drp chaos spike sends the load (FIS has no load action). Hypothesis: autoscaling and queues absorb it.`,
        actions: [{ name: "spike-window", actionId: "aws:fis:wait", parameters: { duration } }],
      },
    };

    const account = new DataAwsCallerIdentity(this, "account", {}).accountId;
    const templates: Partial<Record<Scenario, FisExperimentTemplate>> = {};
    const steadyState: ActionPlan = { name: "steady-state", actionId: "aws:cloudwatch:assert-alarm-state", parameters: { alarmArns: stopAlarms.join(","), alarmStates: "OK" } };
    for (const scenario of SCENARIOS) {
      const plan = {
        ...plans[scenario],
        actions: [steadyState, ...plans[scenario].actions.map((a) => ({ ...a, startAfter: a.startAfter ?? [steadyState.name] }))],
      };
      const role = serviceRole(this, `${scenario}-role`, {
        name: `${name}-chaos-${scenario}`,
        service: "fis.amazonaws.com",
        // Only this account's experiments in this region may assume it (FIS User Guide, "IAM roles for AWS FIS experiments").
        trustCondition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": `arn:aws:fis:${region}:${account}:experiment/*` } },
        statements: this.permissions(plan.actions, props, account),
      });
      const targeted = plan.actions.filter((a) => FIS_ACTIONS[a.actionId].resourceType);
      const template = new FisExperimentTemplate(this, scenario, {
        region,
        description: plan.description,
        roleArn: role.arn,
        stopCondition: stopAlarms.map((value) => ({ source: "aws:cloudwatch:alarm", value })),
        action: plan.actions.map(
          (a): FisExperimentTemplateAction => ({
            name: a.name,
            actionId: a.actionId,
            parameter: Object.entries(a.parameters).map(([key, value]) => ({ key, value })),
            startAfter: a.startAfter ? [...a.startAfter] : undefined,
            target: FIS_ACTIONS[a.actionId].resourceType ? { key: ECS_TASKS_TARGET_KEY, value: `${a.name}-tasks` } : undefined,
          }),
        ),
        target: targeted.length
          ? targeted.map((a) => ({
              name: `${a.name}-tasks`,
              resourceType: "aws:ecs:task",
              selectionMode: a.selectionMode ?? "ALL",
              // The service's tasks, resolved when the experiment starts (FIS User Guide, "Targets", resource
              // parameters of aws:ecs:task: https://docs.aws.amazon.com/fis/latest/userguide/targets.html#target-parameters).
              parameters: { cluster: props.clusterName, service: props.serviceName },
            }))
          : undefined,
        experimentOptions: { accountTargeting: "single-account", emptyTargetResolutionMode: "fail" },
        logConfiguration: { logSchemaVersion: 2, cloudwatchLogsConfiguration: { logGroupArn: `${this.logGroup.arn}:*` } },
        tags: { [SCENARIO_TAG_KEY]: scenario, Name: `${name}-chaos-${scenario}` },
      });
      templates[scenario] = template;
      new TerraformOutput(this, `${scenario}-template-id`, {
        value: template.id,
        description: `FIS experiment template of the ${scenario} scenario (tag ${SCENARIO_TAG_KEY}=${scenario})`,
      }).overrideLogicalId(templateOutputName(scenario));
    }
    this.templates = templates as Record<Scenario, FisExperimentTemplate>;
  }

  /** Exactly what FIS documents for the template's actions, scoped to the targeted cluster where IAM allows. */
  private permissions(actions: readonly ActionPlan[], props: ChaosExperimentsProps, account: string): PolicyStatement[] {
    const needed = new Set(actions.flatMap((a) => FIS_ACTIONS[a.actionId].permissions));
    const documents = [...new Set(actions.map((a) => FIS_ACTIONS[a.actionId].ssmDocument).filter((d): d is string => !!d))];
    const ecs = [...needed].filter((p) => p.startsWith("ecs:")).sort();
    const send = needed.has("ssm:SendCommand");
    const rest = [...needed].filter((p) => !p.startsWith("ecs:") && p !== "ssm:SendCommand").sort();
    const statements: PolicyStatement[] = [];
    if (ecs.length) statements.push({ Sid: "TargetServiceTasks", Action: ecs, Resource: "*", Condition: { ArnEquals: { "ecs:cluster": props.clusterArn } } });
    if (send) {
      statements.push({ Sid: "RunFisDocuments", Action: "ssm:SendCommand", Resource: documents.map((d) => `arn:aws:ssm:${props.region}::document/${d}`) });
      // Only tasks registered by the fault-injection sidecar (it tags its managed instance so).
      statements.push({
        Sid: "OnFaultInjectionSidecars",
        Action: "ssm:SendCommand",
        Resource: `arn:aws:ssm:${props.region}:${account}:managed-instance/*`,
        Condition: { StringEquals: { "ssm:resourceTag/FAULT_INJECTION_SIDECAR": "true" } },
      });
    }
    if (rest.length) statements.push({ Sid: "DescribeAndTrack", Action: rest, Resource: "*" });
    statements.push({ Sid: "DeliverExperimentLog", Action: [...FIS_LOG_DELIVERY_PERMISSIONS], Resource: "*" });
    return statements;
  }
}
