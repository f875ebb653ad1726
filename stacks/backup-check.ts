/** The daily backup assurance, beside the DR bucket in the storage region. */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import type { Alerting } from "../constructs/alerting";
import { BackupCheck } from "../constructs/backup-check";
import type { DrBucket } from "../constructs/dr-bucket";
import { CODE_PREFIX } from "../scripts/backups/code-bundle";
import { DrpStack } from "./drp-stack";

export class BackupCheckStack extends DrpStack {
  readonly check: BackupCheck;

  constructor(scope: Construct, deployment: Deployment, drBucket: DrBucket, alerting: Alerting) {
    const { config } = deployment;
    const region = config.regions.storage;
    super(scope, "backup-check", { deployment, homeRegion: region, inDrAccount: true });
    this.check = new BackupCheck(this, "daily-check", {
      name: config.project,
      region,
      image: config.export.image,
      schedule: config.assurance.schedule,
      bucketName: drBucket.bucketName,
      bucketArn: drBucket.bucketArn,
      bucketKeyArn: drBucket.keyArn,
      readPrefixes: [config.export.prefix, CODE_PREFIX],
      filesBucket: config.files.bucket,
      configJson: JSON.stringify(config),
      supabaseTokenSecretName: config.assurance.supabaseTokenSecretName,
      alarmTopicArn: alerting.topicArn(region),
      logRetentionDays: config.retention.logDays,
    });
  }
}
