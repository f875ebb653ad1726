/**
 * ScheduledExport: the weekly logical export of the database into the DR bucket. EventBridge Scheduler
 * runs `drp export` as a Fargate task (retries, then a dead-letter queue), with a task role that may only
 * write new objects under the exports prefix (no delete, no overwrite of other keys). Failure pages the
 * on-call three ways: a task that stops with a non-zero exit code, a task that stops without ever running
 * its container (image pull, secret: `stopCode` TaskFailedToStart, no exit code), and a schedule that could
 * not even start the task (dead-letter queue not empty).
 */
import { Construct } from "constructs";
import { DataAwsSecretsmanagerSecret } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-secret";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { alertActions } from "../alerting";
import { fargateSizeProblem } from "../fargate";
import { serviceRole } from "../iam";
import { validName } from "../names";
import { Network } from "../network";

export interface ScheduledExportProps {
  readonly name: string;
  readonly region: string;
  /** Export job image pinned by digest (entrypoint `drp`). */
  readonly image: string;
  /** EventBridge Scheduler expression, evaluated in UTC. */
  readonly schedule: string;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly bucketKeyArn: string;
  /** Key prefix the job may write under, ending in "/". */
  readonly prefix: string;
  /** Tables whose row counts go into the manifest. */
  readonly criticalTables: readonly string[];
  /** Secret holding DATABASE_URL, in this region. */
  readonly databaseUrlSecretName: string;
  /** SNS topic in this region for failures. */
  readonly alarmTopicArn: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default "10.30.0.0/24" */
  readonly vpcCidr?: string;
  /** Scheduler retries after a failed start. @default 3 */
  readonly retryAttempts?: number;
  /** Fargate CPU units of the task. @default 1024 (pg_dump compresses on one core) */
  readonly cpu?: number;
  /** Fargate memory (MiB); must be valid for `cpu`. @default 2048, the least Fargate allows with 1 vCPU */
  readonly memoryMiB?: number;
}

/** Why an export task stopped without running its container: ECS reports no exit code for these. */
export const NEVER_STARTED_STOP_CODES = ["TaskFailedToStart"] as const;

export class ScheduledExport extends Construct {
  readonly schedule: SchedulerSchedule;
  readonly taskDefinition: EcsTaskDefinition;
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: ScheduledExportProps) {
    super(scope, id);
    const { region, name } = props;
    if (!props.prefix.endsWith("/")) throw new Error(`${this.node.path}: prefix "${props.prefix}" must end with "/"`);
    const cpu = props.cpu ?? 1024;
    const memoryMiB = props.memoryMiB ?? 2048;
    const size = fargateSizeProblem(cpu, memoryMiB);
    if (size) throw new Error(`${this.node.path}: ${size} (props cpu and memoryMiB)`);
    const field = "name (the configuration's project)";

    const network = new Network(this, "network", { name: `${name}-export`, region, cidr: props.vpcCidr ?? "10.30.0.0/24" });
    const egressOnly = new SecurityGroup(this, "task-sg", {
      region,
      name: `${name}-export`,
      description: "Export job: outbound only (database and S3)",
      vpcId: network.vpc.id,
      egress: [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }],
    });
    const logs = new CloudwatchLogGroup(this, "logs", { region, name: `/ecs/${name}-export`, retentionInDays: props.logRetentionDays ?? 30 });
    const cluster = new EcsCluster(this, "cluster", { region, name: validName(this, "ecs", `${name}-export`, field) });
    const dbSecret = new DataAwsSecretsmanagerSecret(this, "database-url", { region, name: props.databaseUrlSecretName });

    const executionRole = serviceRole(this, "execution-role", {
      name: `${name}-export-execution`,
      service: "ecs-tasks.amazonaws.com",
      statements: [
        { Sid: "ReadDatabaseUrl", Action: "secretsmanager:GetSecretValue", Resource: dbSecret.arn },
        { Sid: "WriteLogs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logs.arn}:*` },
      ],
    });
    const exportsArn = `${props.bucketArn}/${props.prefix}*`;
    const taskRole = serviceRole(this, "task-role", {
      name: `${name}-export-task`,
      service: "ecs-tasks.amazonaws.com",
      statements: [
        // Multipart upload needs Put + Abort (AbortMultipartUpload discards unfinished parts, never a stored object).
        { Sid: "WriteExports", Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: exportsArn },
        // Read back what was written: refuse an existing manifest, confirm the dump version and its lock.
        { Sid: "CheckExports", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"], Resource: exportsArn },
        { Sid: "ReadLockConfig", Action: ["s3:GetBucketObjectLockConfiguration"], Resource: props.bucketArn },
        { Sid: "EncryptExports", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: props.bucketKeyArn },
      ],
    });
    this.taskDefinition = new EcsTaskDefinition(this, "task", {
      region,
      family: `${name}-export`,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      // pg_dump compresses on one core and the upload streams in 8 MiB parts: no disk, modest memory.
      cpu: String(cpu),
      memory: String(memoryMiB),
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      containerDefinitions: JSON.stringify([
        {
          name: "export",
          image: props.image,
          essential: true,
          command: ["export", "--json"],
          environment: [
            { name: "DRP_EXPORT_BUCKET", value: props.bucketName },
            { name: "DRP_EXPORT_PREFIX", value: props.prefix },
            { name: "DRP_CRITICAL_TABLES", value: props.criticalTables.join(",") },
            { name: "AWS_REGION", value: region },
          ],
          secrets: [{ name: "DATABASE_URL", valueFrom: dbSecret.arn }],
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logs.name, "awslogs-region": region, "awslogs-stream-prefix": "export" } },
        },
      ]),
    });

    this.deadLetterQueue = new SqsQueue(this, "dead-letters", {
      region,
      name: validName(this, "sqsQueue", `${name}-export-dead-letters`, field),
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    const schedulerRole = serviceRole(this, "scheduler-role", {
      name: `${name}-export-scheduler`,
      service: "scheduler.amazonaws.com",
      statements: [
        { Sid: "RunExportTask", Action: "ecs:RunTask", Resource: `${this.taskDefinition.arnWithoutRevision}:*`, Condition: { ArnLike: { "ecs:cluster": cluster.arn } } },
        { Sid: "PassTaskRoles", Action: "iam:PassRole", Resource: [executionRole.arn, taskRole.arn] },
        { Sid: "DeadLetter", Action: "sqs:SendMessage", Resource: this.deadLetterQueue.arn },
      ],
    });
    this.schedule = new SchedulerSchedule(this, "schedule", {
      region,
      name: validName(this, "schedule", `${name}-weekly-export`, field),
      description: "Weekly export of the database to the independent DR bucket",
      scheduleExpression: props.schedule,
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: cluster.arn,
        roleArn: schedulerRole.arn,
        ecsParameters: {
          taskDefinitionArn: this.taskDefinition.arnWithoutRevision,
          launchType: "FARGATE",
          taskCount: 1,
          networkConfiguration: { subnets: network.publicSubnetIds, securityGroups: [egressOnly.id], assignPublicIp: true },
        },
        retryPolicy: { maximumRetryAttempts: props.retryAttempts ?? 3, maximumEventAgeInSeconds: 6 * 3600 },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
    });

    new CloudwatchMetricAlarm(this, "not-started-alarm", {
      region,
      alarmName: `${name}-export-not-started`,
      alarmDescription: "The weekly export could not be started (scheduler dead-letter queue is not empty).",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: this.deadLetterQueue.name },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      ...alertActions(props.alarmTopicArn),
    });
    const failed = new CloudwatchEventRule(this, "failed-rule", {
      region,
      name: validName(this, "eventRule", `${name}-export-failed`, field),
      description: "The export task stopped with a non-zero exit code, or stopped without ever starting",
      eventPattern: JSON.stringify({
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: {
          clusterArn: [cluster.arn],
          lastStatus: ["STOPPED"],
          $or: [{ containers: { name: ["export"], exitCode: [{ "anything-but": 0 }] } }, { stopCode: [...NEVER_STARTED_STOP_CODES] }],
        },
      }),
    });
    new CloudwatchEventTarget(this, "failed-target", { region, rule: failed.name, arn: props.alarmTopicArn, targetId: "alerts" });
  }
}
