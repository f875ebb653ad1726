/**
 * The secrets the app's account reads, declared without values, in a stack of their own that deploys
 * right after state and before every stack that reads them: monitoring reads the PagerDuty URL at plan
 * time, compute the registry credentials, edge the bypass token and the Meta secrets. Operators put
 * the values between this stack and the next (README "First deployment"). They live in the account that reads them (not the DR
 * account); the export job's database URL is created by the export stack, in the job's account.
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
    super(scope, "secrets", { deployment, homeRegion: region });
    const computeRegions = [config.regions.primary, config.regions.secondary];
    this.secrets = new PlanSecrets(this, "secrets", {
      region,
      secrets: [
        { name: config.app.registrySecretName, description: "GHCR pull credentials of the app image", replicas: computeRegions },
        { name: config.edge.bypassTokenSecretName, description: "Smoke-test bypass token of the maintenance Worker" },
        { name: config.edge.metaAppSecretName, description: "Meta app secret: the edge Worker verifies webhook signatures with it" },
        { name: config.edge.metaVerifyTokenSecretName, description: "Verify token of the Meta webhook subscription" },
        { name: config.detection.pagerdutySecretName, description: "PagerDuty CloudWatch integration URL" },
      ],
    });
  }
}
