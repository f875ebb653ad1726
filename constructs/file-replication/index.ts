/**
 * FileReplication: continuous S3 replication of the app's files/images bucket into the DR bucket, with
 * Replication Time Control (15-minute SLA) and metrics, and an alarm when replication lags or fails.
 * Delete markers are not replicated: a deletion in the app must not erase the DR copy.
 */
import { Construct } from "constructs";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketReplicationConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-replication-configuration";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { alertActions } from "../alerting";
import { serviceRole } from "../iam";

export interface FileReplicationProps {
  /** Existing files/images bucket of the app (its versioning is turned on here). */
  readonly sourceBucket: string;
  readonly sourceRegion: string;
  /** Only keys under this prefix are replicated; "" for all. */
  readonly prefix: string;
  readonly destinationBucketArn: string;
  /** Name of the DR bucket: S3 publishes replication metrics with bucket names, not ARNs. */
  readonly destinationBucketName: string;
  readonly destinationKeyArn: string;
  /** Alarm when replication latency exceeds this many seconds. */
  readonly maxLagSeconds: number;
  /** SNS topic in sourceRegion that pages the on-call. */
  readonly alarmTopicArn: string;
  /** Prefix for IAM and alarm names. */
  readonly name: string;
}

const RULE_ID = "files-to-dr";

export class FileReplication extends Construct {
  constructor(scope: Construct, id: string, props: FileReplicationProps) {
    super(scope, id);
    const region = props.sourceRegion;
    const sourceArn = `arn:aws:s3:::${props.sourceBucket}`;
    const versioning = new S3BucketVersioningA(this, "source-versioning", {
      region,
      bucket: props.sourceBucket,
      versioningConfiguration: { status: "Enabled" },
    });
    const role = serviceRole(this, "role", {
      name: `${props.name}-files-replication`,
      service: "s3.amazonaws.com",
      statements: [
        { Sid: "ReadSourceConfig", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: sourceArn },
        {
          Sid: "ReadSourceVersions",
          Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
          Resource: `${sourceArn}/*`,
        },
        { Sid: "WriteReplicas", Action: ["s3:ReplicateObject", "s3:ReplicateTags"], Resource: `${props.destinationBucketArn}/*` },
        { Sid: "DecryptSource", Action: "kms:Decrypt", Resource: "*", Condition: { StringLike: { "kms:ViaService": `s3.${region}.amazonaws.com` } } },
        { Sid: "EncryptReplicas", Action: ["kms:Encrypt", "kms:GenerateDataKey"], Resource: props.destinationKeyArn },
      ],
    });
    new S3BucketReplicationConfigurationA(this, "replication", {
      region,
      bucket: props.sourceBucket,
      role: role.arn,
      dependsOn: [versioning],
      rule: [
        {
          id: RULE_ID,
          status: "Enabled",
          priority: 1,
          filter: { prefix: props.prefix },
          deleteMarkerReplication: { status: "Disabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: {
            bucket: props.destinationBucketArn,
            storageClass: "STANDARD",
            encryptionConfiguration: { replicaKmsKeyId: props.destinationKeyArn },
            replicationTime: { status: "Enabled", time: { minutes: 15 } },
            metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
          },
        },
      ],
    });

    // The dimensions S3 publishes: bucket names (an ARN here matches no metric, and with missing data
    // treated as not breaching the alarm would stay OK forever).
    const dimensions = { SourceBucket: props.sourceBucket, DestinationBucket: props.destinationBucketName, RuleId: RULE_ID };
    new CloudwatchMetricAlarm(this, "lag-alarm", {
      region,
      alarmName: `${props.name}-files-replication-lag`,
      alarmDescription: `Files are reaching the DR bucket more than ${props.maxLagSeconds}s late (S3 RTC SLA is 15 min).`,
      namespace: "AWS/S3",
      metricName: "ReplicationLatency",
      dimensions,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: props.maxLagSeconds,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      ...alertActions(props.alarmTopicArn),
    });
    new CloudwatchMetricAlarm(this, "failed-alarm", {
      region,
      alarmName: `${props.name}-files-replication-failed`,
      alarmDescription: "Objects failed to replicate to the DR bucket.",
      namespace: "AWS/S3",
      metricName: "OperationsFailedReplication",
      dimensions,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      ...alertActions(props.alarmTopicArn),
    });
  }
}
