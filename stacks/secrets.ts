/**
 * The plan's secrets, declared without values, in a stack of their own that deploys right after state
 * and before every stack that reads them: monitoring reads the PagerDuty URL at plan time, compute the
 * registry credentials, edge the bypass token, export the database URL. Operators put the values between
 * this stack and the next (README "First deployment").
 */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import { PlanSecrets } from "../constructs/secrets";
import { DrpStack } from "./drp-stack";

export class SecretsStack extends DrpStack {
  readonly secrets: PlanSecrets;

  constructor(scope: Construct, deployment: Deployment) {
    const { config } = deployment;
    const region = config.regions.storage;
    super(scope, "secrets", { deployment, homeRegion: region, inDrAccount: true });
    const computeRegions = [config.regions.primary, config.regions.secondary];
    this.secrets = new PlanSecrets(this, "secrets", {
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
