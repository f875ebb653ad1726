/** DR storage: the independent bucket and continuous replication of files into it. */
import { Construct } from "constructs";
import { drBucketName, type Deployment } from "../constructs/config";
import type { Alerting } from "../constructs/alerting";
import { DrBucket } from "../constructs/dr-bucket";
import { FileReplication } from "../constructs/file-replication";
import { CodeBackupRole } from "../constructs/code-backup";
import { CODE_PREFIX } from "../scripts/backups/code-bundle";
import { DrpStack } from "./drp-stack";

export class StorageStack extends DrpStack {
  readonly drBucket: DrBucket;

  constructor(scope: Construct, deployment: Deployment, alerting: Alerting) {
    const { config } = deployment;
    const region = config.regions.storage;
    super(scope, "storage", { deployment, homeRegion: region, inDrAccount: true });
    const { retention } = config;
    this.drBucket = new DrBucket(this, "dr-bucket", {
      bucketName: drBucketName(config),
      region,
      exportPrefix: config.export.prefix,
      exportDays: retention.exportDays,
      coldAfterDays: retention.coldAfterDays,
      objectLockDays: retention.objectLockDays,
      noncurrentVersionDays: retention.noncurrentVersionDays,
    });
    new FileReplication(this, "files", {
      name: config.project,
      sourceBucket: config.files.bucket,
      sourceRegion: config.files.region,
      prefix: config.files.prefix,
      destinationBucketArn: this.drBucket.bucketArn,
      destinationBucketName: this.drBucket.bucketName,
      destinationKeyArn: this.drBucket.keyArn,
      maxLagSeconds: config.detection.replicationLagSeconds,
      alarmTopicArn: alerting.topicArn(config.files.region),
    });
    new CodeBackupRole(this, "code-backup", {
      name: config.project,
      githubRepository: config.codeBackup.githubRepository,
      branch: config.codeBackup.branch,
      bucketArn: this.drBucket.bucketArn,
      bucketKeyArn: this.drBucket.keyArn,
      prefix: CODE_PREFIX,
    });
  }
}
