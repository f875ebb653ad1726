/** The app in one compute region: serving, or pilot light. Reads nothing from any other stack. */
import { Construct } from "constructs";
import { chaosSettings, type Deployment, type RegionRole } from "../constructs/config";
import { RegionalService } from "../constructs/regional-service";
import { DrpStack } from "./drp-stack";

export class ComputeStack extends DrpStack {
  readonly service: RegionalService;

  constructor(scope: Construct, deployment: Deployment, role: RegionRole) {
    const { config } = deployment;
    const region = config.regions[role];
    super(scope, `compute-${role}`, { deployment, homeRegion: region, cloudflare: true });
    const { app, edge } = config;
    this.service = new RegionalService(this, "app", {
      name: `${config.project}-${role}`,
      region,
      active: deployment.isActive(role),
      image: deployment.image,
      registrySecretName: app.registrySecretName,
      vpcCidr: app.vpcCidr[role],
      port: app.port,
      healthPath: app.healthPath,
      cpu: app.cpu,
      memoryMiB: app.memoryMiB,
      nominalTasks: app.nominalTasks,
      maxTasks: app.maxTasks,
      redisNodeType: app.redisNodeType,
      logRetentionDays: config.retention.logDays,
      originHostname: deployment.originHostname(role),
      appHostname: edge.appHostname,
      cloudflareZoneId: edge.zoneId,
      // The chaos stack's experiments target the primary region's tasks only.
      faultInjection: deployment.context.chaos && role === "primary" ? { ssmAgentImage: chaosSettings(config).ssmAgentImage } : undefined,
    });
  }
}
