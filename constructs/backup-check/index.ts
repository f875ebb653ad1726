/**
 * BackupCheck: the daily backup assurance. EventBridge Scheduler runs `drp backups check --json` (the
 * export job's image) as a Fargate task whose role can only read: the DR bucket's exports and code
 * bundles, the files bucket's replication rule and object heads. A broken promise makes the task exit 1,
 * which pages like every other alarm, as does a task that stops without running its container; a
 * schedule that cannot start the task pages through its dead-letter queue. The check reads the whole plan configuration from DRP_CONFIG_JSON (thresholds,
 * Supabase project) and its Supabase token from Secrets Manager.
 */
import { Construct } from "constructs";
import { PlanSecrets } from "../secrets";
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
import { CONFIG_JSON_ENV } from "../config";
import { fargateSizeProblem } from "../fargate";
import { serviceRole } from "../iam";
import { validName } from "../names";
import { Network } from "../network";
import { NEVER_STARTED_STOP_CODES } from "../scheduled-export";
import { terraformLiteral } from "../terraform-literal";

/** The task's container name: the failure rule matches it. */
export const BACKUP_CHECK_CONTAINER = "backup-check";

export interface BackupCheckProps {
  readonly name: string;
  readonly region: string;
  /** Image with the drp CLI (the export job's), pinned by digest. */
  readonly image: string;
  /** EventBridge Scheduler expression, evaluated in UTC. */
  readonly schedule: string;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly bucketKeyArn: string;
  /** Key prefixes in the DR bucket the check reads (exports, code bundles), each ending in "/". */
  readonly readPrefixes: readonly string[];
  /** The app's files bucket, whose replication the check reads. */
  readonly filesBucket: string;
  /** The validated plan configuration, passed whole as DRP_CONFIG_JSON. */
  readonly configJson: string;
  /** Secret (in this region) holding a Supabase personal access token. */
  readonly supabaseTokenSecretName: string;
  /** SNS topic in this region that pages the on-call. */
  readonly alarmTopicArn: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default "10.31.0.0/24" */
  readonly vpcCidr?: string;
  /** Scheduler retries after a failed start. @default 3 */
  readonly retryAttempts?: number;
  /** Fargate CPU units of the task. @default 256 (a few hundred API calls) */
  readonly cpu?: number;
  /** Fargate memory (MiB); must be valid for `cpu`. @default 512, the least Fargate allows with 0.25 vCPU */
  readonly memoryMiB?: number;
}

export class BackupCheck extends Construct {
  readonly schedule: SchedulerSchedule;
  readonly taskDefinition: EcsTaskDefinition;
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: BackupCheckProps) {
    super(scope, id);
    const { region, name } = props;
    const bad = props.readPrefixes.filter((p) => !p.endsWith("/"));
    if (bad.length) throw new Error(`${this.node.path}: readPrefixes ${bad.map((p) => `"${p}"`).join(", ")} must end with "/"`);
    const cpu = props.cpu ?? 256;
    const memoryMiB = props.memoryMiB ?? 512;
    const size = fargateSizeProblem(cpu, memoryMiB);
    if (size) throw new Error(`${this.node.path}: ${size} (props cpu and memoryMiB)`);
    const field = "name (the configuration's project)";

    const network = new Network(this, "network", { name: `${name}-backup-check`, region, cidr: props.vpcCidr ?? "10.31.0.0/24" });
    const egressOnly = new SecurityGroup(this, "task-sg", {
      region,
      name: `${name}-backup-check`,
      description: "Backup check: outbound only (S3 and the Supabase API)",
      vpcId: network.vpc.id,
      egress: [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }],
    });
    const logs = new CloudwatchLogGroup(this, "logs", { region, name: `/ecs/${name}-backup-check`, retentionInDays: props.logRetentionDays ?? 30 });
    const cluster = new EcsCluster(this, "cluster", { region, name: validName(this, "ecs", `${name}-backup-check`, field) });
    // Created beside the check, in its account (the DR account when there is one), as the export's database
    // URL is: the task reads it at run time, so nothing needs its value to plan.
    const [token] = new PlanSecrets(this, "supabase-token", {
      region,
      secrets: [{ name: props.supabaseTokenSecretName, description: "Supabase access token the daily backup check reads backups with" }],
    }).secrets;

    const executionRole = serviceRole(this, "execution-role", {
      name: `${name}-backup-check-execution`,
      service: "ecs-tasks.amazonaws.com",
      statements: [
        { Sid: "ReadSupabaseToken", Action: "secretsmanager:GetSecretValue", Resource: token.arn },
        { Sid: "WriteLogs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logs.arn}:*` },
      ],
    });
    const filesArn = `arn:aws:s3:::${props.filesBucket}`;
    const taskRole = serviceRole(this, "task-role", {
      name: `${name}-backup-check-task`,
      service: "ecs-tasks.amazonaws.com",
      statements: [
        { Sid: "ListBackups", Action: "s3:ListBucket", Resource: props.bucketArn, Condition: { StringLike: { "s3:prefix": props.readPrefixes.map((p) => `${p}*`) } } },
        // HEAD of a pinned version and its Object Lock retention need GetObjectVersion and GetObjectRetention.
        {
          Sid: "ReadBackups",
          Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"],
          Resource: props.readPrefixes.map((p) => `${props.bucketArn}/${p}*`),
        },
        { Sid: "DecryptBackups", Action: "kms:Decrypt", Resource: props.bucketKeyArn },
        { Sid: "ReadFilesReplication", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: filesArn },
        { Sid: "HeadFiles", Action: "s3:GetObject", Resource: `${filesArn}/*` },
      ],
    });
    this.taskDefinition = new EcsTaskDefinition(this, "task", {
      region,
      family: `${name}-backup-check`,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(cpu),
      memory: String(memoryMiB),
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      containerDefinitions: JSON.stringify([
          {
            name: BACKUP_CHECK_CONTAINER,
            image: props.image,
            essential: true,
            command: ["backups", "check", "--json"],
            environment: [
              // Terraform reads every string as a template: a literal ${ or %{ in the config must stay literal.
              { name: CONFIG_JSON_ENV, value: terraformLiteral(props.configJson) },
              { name: "DRP_EXPORT_BUCKET", value: props.bucketName },
              { name: "AWS_REGION", value: region },
            ],
            secrets: [{ name: "SUPABASE_ACCESS_TOKEN", valueFrom: token.arn }],
            logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logs.name, "awslogs-region": region, "awslogs-stream-prefix": "backup-check" } },
          },
        ]),
    });

    this.deadLetterQueue = new SqsQueue(this, "dead-letters", {
      region,
      name: validName(this, "sqsQueue", `${name}-backup-check-dead-letters`, field),
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    const schedulerRole = serviceRole(this, "scheduler-role", {
      name: `${name}-backup-check-scheduler`,
      service: "scheduler.amazonaws.com",
      statements: [
        { Sid: "RunCheckTask", Action: "ecs:RunTask", Resource: `${this.taskDefinition.arnWithoutRevision}:*`, Condition: { ArnLike: { "ecs:cluster": cluster.arn } } },
        { Sid: "PassTaskRoles", Action: "iam:PassRole", Resource: [executionRole.arn, taskRole.arn] },
        { Sid: "DeadLetter", Action: "sqs:SendMessage", Resource: this.deadLetterQueue.arn },
      ],
    });
    this.schedule = new SchedulerSchedule(this, "schedule", {
      region,
      name: validName(this, "schedule", `${name}-daily-backup-check`, field),
      description: "Daily check that every backup promise of the plan holds",
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
      alarmName: `${name}-backup-check-not-started`,
      alarmDescription: "The daily backup check could not be started (scheduler dead-letter queue is not empty).",
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
      name: validName(this, "eventRule", `${name}-backup-check-failed`, field),
      description: "A backup promise is broken: the daily check exited non-zero (its log names each one and the fix)",
      eventPattern: JSON.stringify({
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: {
          clusterArn: [cluster.arn],
          lastStatus: ["STOPPED"],
          $or: [{ containers: { name: [BACKUP_CHECK_CONTAINER], exitCode: [{ "anything-but": 0 }] } }, { stopCode: [...NEVER_STARTED_STOP_CODES] }],
        },
      }),
    });
    new CloudwatchEventTarget(this, "failed-target", { region, rule: failed.name, arn: props.alarmTopicArn, targetId: "alerts" });
  }
}
