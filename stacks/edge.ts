/** The edge: Cloudflare load balancer failover and the maintenance Worker. Reads no other stack. */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import { EdgeFailover } from "../constructs/edge-failover";
import { MaintenancePage } from "../constructs/maintenance-page";
import { DrpStack } from "./drp-stack";

export class EdgeStack extends DrpStack {
  readonly failover: EdgeFailover;
  readonly maintenance: MaintenancePage;

  constructor(scope: Construct, deployment: Deployment) {
    const { config } = deployment;
    super(scope, "edge", { deployment, homeRegion: config.regions.storage, cloudflare: true });
    const { edge } = config;
    this.failover = new EdgeFailover(this, "failover", {
      name: config.project,
      accountId: edge.accountId,
      zoneId: edge.zoneId,
      appHostname: edge.appHostname,
      pools: deployment.poolOrder.map((p) => ({ name: p.role, originHostname: deployment.originHostname(p.role) })),
      maintenanceHostname: deployment.maintenanceHostname,
      healthPath: config.app.healthPath,
      monitorIntervalSeconds: edge.monitorIntervalSeconds,
    });
    this.maintenance = new MaintenancePage(this, "maintenance", {
      accountId: edge.accountId,
      zoneId: edge.zoneId,
      scriptName: `${config.project}-edge`,
      appHostname: edge.appHostname,
      maintenanceHostname: deployment.maintenanceHostname,
      maintenance: deployment.context.maintenance,
      originTimeoutSeconds: edge.originTimeoutSeconds,
      bypassTokenSecretName: edge.bypassTokenSecretName,
      metaAppSecretName: edge.metaAppSecretName,
      metaVerifyTokenSecretName: edge.metaVerifyTokenSecretName,
      secretRegion: config.regions.storage,
    });
  }
}
