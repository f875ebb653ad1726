/**
 * BackupCheck: the daily backup assurance. EventBridge Scheduler runs `drp backups check --json` (the
 * export job's image) as a Fargate task whose role can only read: the DR bucket's exports and code
 * bundles, the files bucket's replication rule and object heads. A broken promise makes the task exit 1,
 * which pages like every other alarm, as does a task that stops without running its container; a
 * schedule that cannot start the task pages through its dead-letter queue. The check reads the whole plan configuration from DRP_CONFIG_JSON (thresholds,
 * Supabase project) and its Supabase token from Secrets Manager.
 */
import { Construct } from "constructs";
import type { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import type { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import type { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { CONFIG_JSON_ENV } from "../config";
import { scheduledTask } from "../scheduled-task";
import { PlanSecrets } from "../secrets";
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
    // Created beside the check, in its account (the DR account when there is one), as the export's database
    // URL is: the task reads it at run time, so nothing needs its value to plan.
    const [token] = new PlanSecrets(this, "supabase-token", {
      region,
      secrets: [{ name: props.supabaseTokenSecretName, description: "Supabase access token the daily backup check reads backups with" }],
    }).secrets;
    const filesArn = `arn:aws:s3:::${props.filesBucket}`;
    const task = scheduledTask(this, {
      base: `${name}-backup-check`,
      region,
      vpcCidr: props.vpcCidr ?? "10.31.0.0/24",
      egressDescription: "Backup check: outbound only (S3 and the Supabase API)",
      logRetentionDays: props.logRetentionDays ?? 30,
      cpu: props.cpu ?? 256,
      memoryMiB: props.memoryMiB ?? 512,
      container: {
        name: BACKUP_CHECK_CONTAINER,
        image: props.image,
        command: ["backups", "check", "--json"],
        environment: [
          // Terraform reads every string as a template: a literal ${ or %{ in the config must stay literal.
          { name: CONFIG_JSON_ENV, value: terraformLiteral(props.configJson) },
          { name: "DRP_EXPORT_BUCKET", value: props.bucketName },
          { name: "AWS_REGION", value: region },
        ],
        secrets: [{ name: "SUPABASE_ACCESS_TOKEN", valueFrom: token.arn }],
      },
      executionStatements: [{ Sid: "ReadSupabaseToken", Action: "secretsmanager:GetSecretValue", Resource: token.arn }],
      taskStatements: [
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
      runSid: "RunCheckTask",
      schedule: { expression: props.schedule, name: `${name}-daily-backup-check`, description: "Daily check that every backup promise of the plan holds" },
      retryAttempts: props.retryAttempts ?? 3,
      alarmTopicArn: props.alarmTopicArn,
      notStartedDescription: "The daily backup check could not be started (scheduler dead-letter queue is not empty).",
      failedDescription: "A backup promise is broken: the daily check exited non-zero (its log names each one and the fix)",
    });
    this.schedule = task.schedule;
    this.taskDefinition = task.taskDefinition;
    this.deadLetterQueue = task.deadLetterQueue;
  }
}
