/**
 * ScheduledExport: the weekly logical export of the database into the DR bucket. EventBridge Scheduler
 * runs `drp export` as a Fargate task (retries, then a dead-letter queue), with a task role that may only
 * write new objects under the exports prefix (no delete, no overwrite of other keys). Failure pages the
 * on-call three ways: a task that stops with a non-zero exit code, a task that stops without ever running
 * its container (image pull, secret: `stopCode` TaskFailedToStart, no exit code), and a schedule that could
 * not even start the task (dead-letter queue not empty).
 */
import { Construct } from "constructs";
import type { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import type { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import type { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { scheduledTask } from "../scheduled-task";
import { PlanSecrets } from "../secrets";

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
  /** Name of the secret holding DATABASE_URL, created here (no value) in the job's own account and region. */
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

export class ScheduledExport extends Construct {
  readonly schedule: SchedulerSchedule;
  readonly taskDefinition: EcsTaskDefinition;
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: ScheduledExportProps) {
    super(scope, id);
    const { region, name } = props;
    if (!props.prefix.endsWith("/")) throw new Error(`${this.node.path}: prefix "${props.prefix}" must end with "/"`);
    // Created beside the job, in its account (the DR account when there is one): the task reads it at run
    // time, so nothing needs its value to plan, and it can never sit in an account the job cannot read.
    const [dbSecret] = new PlanSecrets(this, "database-url", {
      region,
      secrets: [{ name: props.databaseUrlSecretName, description: "DATABASE_URL the weekly export dumps" }],
    }).secrets;
    const exportsArn = `${props.bucketArn}/${props.prefix}*`;
    const task = scheduledTask(this, {
      base: `${name}-export`,
      region,
      vpcCidr: props.vpcCidr ?? "10.30.0.0/24",
      egressDescription: "Export job: outbound only (database and S3)",
      logRetentionDays: props.logRetentionDays ?? 30,
      // pg_dump compresses on one core and the upload streams in 8 MiB parts: no disk, modest memory.
      cpu: props.cpu ?? 1024,
      memoryMiB: props.memoryMiB ?? 2048,
      container: {
        name: "export",
        image: props.image,
        command: ["export", "--json"],
        environment: [
          { name: "DRP_EXPORT_BUCKET", value: props.bucketName },
          { name: "DRP_EXPORT_PREFIX", value: props.prefix },
          { name: "DRP_CRITICAL_TABLES", value: props.criticalTables.join(",") },
          { name: "AWS_REGION", value: region },
        ],
        secrets: [{ name: "DATABASE_URL", valueFrom: dbSecret.arn }],
      },
      executionStatements: [{ Sid: "ReadDatabaseUrl", Action: "secretsmanager:GetSecretValue", Resource: dbSecret.arn }],
      taskStatements: [
        // Multipart upload needs Put + Abort (AbortMultipartUpload discards unfinished parts, never a stored object).
        { Sid: "WriteExports", Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: exportsArn },
        // Read back what was written: refuse an existing manifest, confirm the dump version and its lock.
        { Sid: "CheckExports", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"], Resource: exportsArn },
        { Sid: "ReadLockConfig", Action: ["s3:GetBucketObjectLockConfiguration"], Resource: props.bucketArn },
        { Sid: "EncryptExports", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: props.bucketKeyArn },
      ],
      runSid: "RunExportTask",
      schedule: { expression: props.schedule, name: `${name}-weekly-export`, description: "Weekly export of the database to the independent DR bucket" },
      retryAttempts: props.retryAttempts ?? 3,
      alarmTopicArn: props.alarmTopicArn,
      notStartedDescription: "The weekly export could not be started (scheduler dead-letter queue is not empty).",
      failedDescription: "The export task stopped with a non-zero exit code, or stopped without ever starting",
    });
    this.schedule = task.schedule;
    this.taskDefinition = task.taskDefinition;
    this.deadLetterQueue = task.deadLetterQueue;
  }
}
