/**
 * The plan's stacks for one deployment, declared in first-deployment order: a stack comes after every
 * stack it depends on and after the stack that creates any secret it reads (the secret-read-order policy
 * checks this; README "First deployment" follows it). Normal operation (region=primary) declares everything; failover
 * (region=secondary) declares only what a failover touches, so `cdktf deploy -c region=secondary` cannot
 * reach the primary region: the secondary compute and the edge, neither of which reads another stack.
 * The chaos stack is declared only with `-c chaos=on` (never with region=secondary), last, outside the
 * first deployment: it reads the primary compute and the health alarm.
 */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import { BackupCheckStack } from "./backup-check";
import { ChaosStack } from "./chaos";
import { ComputeStack } from "./compute";
import { EdgeStack } from "./edge";
import { ExportStack } from "./export";
import { MonitoringStack } from "./monitoring";
import { SecretsStack } from "./secrets";
import { StateStack } from "./state";
import { StorageStack } from "./storage";
import type { DrpStack } from "./drp-stack";

export function defineStacks(app: Construct, deployment: Deployment): DrpStack[] {
  if (deployment.context.region === "secondary") {
    return [new ComputeStack(app, deployment, "secondary"), new EdgeStack(app, deployment)];
  }
  const state = new StateStack(app, deployment);
  const secrets = new SecretsStack(app, deployment);
  const monitoring = new MonitoringStack(app, deployment);
  const storage = new StorageStack(app, deployment, monitoring.alerting);
  const exportJob = new ExportStack(app, deployment, storage.drBucket, monitoring.alerting);
  const backupCheck = new BackupCheckStack(app, deployment, storage.drBucket, monitoring.alerting);
  const primary = new ComputeStack(app, deployment, "primary");
  const secondary = new ComputeStack(app, deployment, "secondary");
  // Compute and edge depend on no other stack, so `cdktf deploy edge -c maintenance=on` or an image
  // roll-out deploys alone; they read the secrets stack's secrets by name (see README "First deployment").
  const edge = new EdgeStack(app, deployment);
  const stacks: DrpStack[] = [state, secrets, monitoring, storage, exportJob, backupCheck, primary, secondary, edge];
  if (deployment.context.chaos) stacks.push(new ChaosStack(app, deployment, primary.service, monitoring.health));
  return stacks;
}
