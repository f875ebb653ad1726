/** DR storage: the independent bucket, continuous replication of files into it, and the plan's secrets. */
import { Construct } from "constructs";
import { drBucketName, type Deployment } from "../constructs/config";
import type { Alerting } from "../constructs/alerting";
import { DrBucket } from "../constructs/dr-bucket";
import { FileReplication } from "../constructs/file-replication";
import { PlanSecrets } from "../constructs/secrets";
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
      destinationKeyArn: this.drBucket.keyArn,
      maxLagSeconds: config.detection.replicationLagSeconds,
      alarmTopicArn: alerting.topicArn(config.files.region),
    });
    const computeRegions = [config.regions.primary, config.regions.secondary];
    new PlanSecrets(this, "secrets", {
      region,
      secrets: [
        { name: config.app.registrySecretName, description: "GHCR pull credentials of the app image", replicas: computeRegions },
        { name: config.edge.bypassTokenSecretName, description: "Smoke-test bypass token of the maintenance Worker" },
        { name: config.detection.pagerdutySecretName, description: "PagerDuty CloudWatch integration URL" },
        { name: config.export.databaseUrlSecretName, description: "DATABASE_URL the weekly export dumps" },
        { name: config.assurance.supabaseTokenSecretName, description: "Supabase access token the daily backup check reads backups with" },
      ],
    });
  }
}
