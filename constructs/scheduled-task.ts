/**
 * The one way this project runs a job on a schedule: EventBridge Scheduler starts a Fargate task (retries,
 * then a dead-letter queue) in its own small VPC with outbound-only access, and failure pages the on-call
 * three ways: the container exits non-zero, the task stops without ever running its container (image pull,
 * secret: `stopCode` TaskFailedToStart, no exit code), or the schedule cannot start the task at all (the
 * dead-letter queue is not empty). Resources are created in the caller's scope, so each job construct
 * (ScheduledExport, BackupCheck) keeps its own resource names and adds only what is its own: its secret,
 * its task role's permissions, its container.
 */
import { Construct } from "constructs";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { alertActions } from "./alerting";
import { fargateSizeProblem } from "./fargate";
import { serviceRole, type PolicyStatement } from "./iam";
import { validName } from "./names";
import { Network } from "./network";

/** Why a task stopped without running its container: ECS reports no exit code for these. */
export const NEVER_STARTED_STOP_CODES = ["TaskFailedToStart"] as const;

export interface ScheduledTaskProps {
  /** Base of every name: `<project>-<job>` (log group `/ecs/<base>`, roles `<base>-execution`...). */
  readonly base: string;
  readonly region: string;
  readonly vpcCidr: string;
  /** What the outbound-only security group is for. */
  readonly egressDescription: string;
  readonly logRetentionDays: number;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly container: {
    readonly name: string;
    readonly image: string;
    readonly command: readonly string[];
    readonly environment: readonly { name: string; value: string }[];
    readonly secrets: readonly { name: string; valueFrom: string }[];
  };
  /** The execution role's statements besides writing the task's logs (reading the container's secrets). */
  readonly executionStatements: readonly PolicyStatement[];
  /** The task role: the job's own, least permissions. */
  readonly taskStatements: readonly PolicyStatement[];
  /** Sid of the scheduler role's RunTask statement. */
  readonly runSid: string;
  readonly schedule: { readonly expression: string; readonly name: string; readonly description: string };
  /** Scheduler retries after a failed start. */
  readonly retryAttempts: number;
  readonly alarmTopicArn: string;
  readonly notStartedDescription: string;
  readonly failedDescription: string;
}

export interface ScheduledTask {
  readonly schedule: SchedulerSchedule;
  readonly taskDefinition: EcsTaskDefinition;
  readonly deadLetterQueue: SqsQueue;
}

export function scheduledTask(scope: Construct, p: ScheduledTaskProps): ScheduledTask {
  const { region, base } = p;
  const size = fargateSizeProblem(p.cpu, p.memoryMiB);
  if (size) throw new Error(`${scope.node.path}: ${size} (props cpu and memoryMiB)`);
  const field = "name (the configuration's project)";

  const network = new Network(scope, "network", { name: base, region, cidr: p.vpcCidr });
  const egressOnly = new SecurityGroup(scope, "task-sg", {
    region,
    name: base,
    description: p.egressDescription,
    vpcId: network.vpc.id,
    egress: [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }],
  });
  const logs = new CloudwatchLogGroup(scope, "logs", { region, name: `/ecs/${base}`, retentionInDays: p.logRetentionDays });
  const cluster = new EcsCluster(scope, "cluster", { region, name: validName(scope, "ecs", base, field) });
  const executionRole = serviceRole(scope, "execution-role", {
    name: `${base}-execution`,
    service: "ecs-tasks.amazonaws.com",
    statements: [...p.executionStatements, { Sid: "WriteLogs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logs.arn}:*` }],
  });
  const taskRole = serviceRole(scope, "task-role", { name: `${base}-task`, service: "ecs-tasks.amazonaws.com", statements: p.taskStatements });
  const taskDefinition = new EcsTaskDefinition(scope, "task", {
    region,
    family: base,
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: String(p.cpu),
    memory: String(p.memoryMiB),
    executionRoleArn: executionRole.arn,
    taskRoleArn: taskRole.arn,
    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
    containerDefinitions: JSON.stringify([
      {
        name: p.container.name,
        image: p.container.image,
        essential: true,
        command: p.container.command,
        environment: p.container.environment,
        secrets: p.container.secrets,
        logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logs.name, "awslogs-region": region, "awslogs-stream-prefix": p.container.name } },
      },
    ]),
  });

  const deadLetterQueue = new SqsQueue(scope, "dead-letters", {
    region,
    name: validName(scope, "sqsQueue", `${base}-dead-letters`, field),
    messageRetentionSeconds: 14 * 24 * 3600,
    sqsManagedSseEnabled: true,
  });
  const schedulerRole = serviceRole(scope, "scheduler-role", {
    name: `${base}-scheduler`,
    service: "scheduler.amazonaws.com",
    statements: [
      { Sid: p.runSid, Action: "ecs:RunTask", Resource: `${taskDefinition.arnWithoutRevision}:*`, Condition: { ArnLike: { "ecs:cluster": cluster.arn } } },
      { Sid: "PassTaskRoles", Action: "iam:PassRole", Resource: [executionRole.arn, taskRole.arn] },
      { Sid: "DeadLetter", Action: "sqs:SendMessage", Resource: deadLetterQueue.arn },
    ],
  });
  const schedule = new SchedulerSchedule(scope, "schedule", {
    region,
    name: validName(scope, "schedule", p.schedule.name, field),
    description: p.schedule.description,
    scheduleExpression: p.schedule.expression,
    scheduleExpressionTimezone: "UTC",
    flexibleTimeWindow: { mode: "OFF" },
    target: {
      arn: cluster.arn,
      roleArn: schedulerRole.arn,
      ecsParameters: {
        taskDefinitionArn: taskDefinition.arnWithoutRevision,
        launchType: "FARGATE",
        taskCount: 1,
        networkConfiguration: { subnets: network.publicSubnetIds, securityGroups: [egressOnly.id], assignPublicIp: true },
      },
      retryPolicy: { maximumRetryAttempts: p.retryAttempts, maximumEventAgeInSeconds: 6 * 3600 },
      deadLetterConfig: { arn: deadLetterQueue.arn },
    },
  });

  new CloudwatchMetricAlarm(scope, "not-started-alarm", {
    region,
    alarmName: `${base}-not-started`,
    alarmDescription: p.notStartedDescription,
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: deadLetterQueue.name },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    ...alertActions(p.alarmTopicArn),
  });
  const failed = new CloudwatchEventRule(scope, "failed-rule", {
    region,
    name: validName(scope, "eventRule", `${base}-failed`, field),
    description: p.failedDescription,
    eventPattern: JSON.stringify({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
      detail: {
        clusterArn: [cluster.arn],
        lastStatus: ["STOPPED"],
        $or: [{ containers: { name: [p.container.name], exitCode: [{ "anything-but": 0 }] } }, { stopCode: [...NEVER_STARTED_STOP_CODES] }],
      },
    }),
  });
  new CloudwatchEventTarget(scope, "failed-target", { region, rule: failed.name, arn: p.alarmTopicArn, targetId: "alerts" });
  return { schedule, taskDefinition, deadLetterQueue };
}
