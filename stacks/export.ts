/** The weekly export job, beside the DR bucket in the storage region. */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import type { Alerting } from "../constructs/alerting";
import type { DrBucket } from "../constructs/dr-bucket";
import { ScheduledExport } from "../constructs/scheduled-export";
import { DrpStack } from "./drp-stack";

export class ExportStack extends DrpStack {
  readonly job: ScheduledExport;

  constructor(scope: Construct, deployment: Deployment, drBucket: DrBucket, alerting: Alerting) {
    const { config } = deployment;
    const region = config.regions.storage;
    super(scope, "export", { deployment, homeRegion: region, inDrAccount: true });
    this.job = new ScheduledExport(this, "weekly-export", {
      name: config.project,
      region,
      image: config.export.image,
      schedule: config.export.schedule,
      bucketName: drBucket.bucketName,
      bucketArn: drBucket.bucketArn,
      bucketKeyArn: drBucket.keyArn,
      prefix: config.export.prefix,
      criticalTables: config.export.criticalTables,
      databaseUrlSecretName: config.export.databaseUrlSecretName,
      alarmTopicArn: alerting.topicArn(region),
      logRetentionDays: config.retention.logDays,
    });
  }
}
