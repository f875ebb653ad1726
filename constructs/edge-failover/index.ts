/**
 * EdgeFailover: the Cloudflare load balancer in front of the app. One pool per compute region, steering
 * "off" (failover by pool order: the serving region first), a shared HTTPS monitor on the health path,
 * and a fallback pool whose only origin is the maintenance hostname: Cloudflare ignores a fallback pool's
 * health, so when every region is down visitors land on the maintenance page instead of an error.
 */
import { Construct } from "constructs";
import { LoadBalancerMonitor } from "@cdktf/provider-cloudflare/lib/load-balancer-monitor";
import { LoadBalancerPool } from "@cdktf/provider-cloudflare/lib/load-balancer-pool";
import { LoadBalancer } from "@cdktf/provider-cloudflare/lib/load-balancer";

export interface EdgePool {
  /** Pool name suffix, e.g. the region role. */
  readonly name: string;
  /** Origin hostname in that region (DNS-only record to its ALB). */
  readonly originHostname: string;
}

export interface EdgeFailoverProps {
  readonly name: string;
  readonly accountId: string;
  readonly zoneId: string;
  /** Public hostname; the load balancer answers for it (proxied). */
  readonly appHostname: string;
  /** Pools in failover order: the first healthy one serves. */
  readonly pools: readonly EdgePool[];
  /** Hostname that always serves the maintenance page. */
  readonly maintenanceHostname: string;
  /** @default "/healthz" */
  readonly healthPath?: string;
  /** Monitor interval; Cloudflare's minimum below the Business plan is 60 s. @default 60 */
  readonly monitorIntervalSeconds?: number;
}

export class EdgeFailover extends Construct {
  readonly loadBalancer: LoadBalancer;
  readonly pools: LoadBalancerPool[];
  readonly fallbackPool: LoadBalancerPool;

  constructor(scope: Construct, id: string, props: EdgeFailoverProps) {
    super(scope, id);
    if (props.pools.length < 2) throw new Error(`${this.node.path}: failover needs at least two pools, got ${props.pools.length}`);
    const monitor = new LoadBalancerMonitor(this, "monitor", {
      accountId: props.accountId,
      description: `${props.name} app health`,
      type: "https",
      method: "GET",
      path: props.healthPath ?? "/healthz",
      expectedCodes: "200",
      interval: props.monitorIntervalSeconds ?? 60,
      timeout: 5,
      retries: 2,
      consecutiveDown: 2,
      consecutiveUp: 2,
    });
    this.pools = props.pools.map(
      (p) =>
        new LoadBalancerPool(this, `pool-${p.name}`, {
          accountId: props.accountId,
          name: `${props.name}-${p.name}`,
          description: `App origin ${p.originHostname}`,
          monitor: monitor.id,
          minimumOrigins: 1,
          // Host (and so SNI) is the region's own origin hostname, the one name its certificate carries;
          // health checks use the origin's Host too, so the shared monitor sets none.
          origins: [{ name: p.name, address: p.originHostname, enabled: true, weight: 1, header: { host: [p.originHostname] } }],
        }),
    );
    this.fallbackPool = new LoadBalancerPool(this, "pool-maintenance", {
      accountId: props.accountId,
      name: `${props.name}-maintenance`,
      description: "Fallback: the maintenance page (health ignored by Cloudflare)",
      origins: [{ name: "maintenance", address: props.maintenanceHostname, enabled: true, weight: 1 }],
    });
    this.loadBalancer = new LoadBalancer(this, "lb", {
      zoneId: props.zoneId,
      name: props.appHostname,
      description: `Failover by pool order: ${props.pools.map((p) => p.name).join(" > ")} > maintenance`,
      proxied: true,
      steeringPolicy: "off",
      sessionAffinity: "none",
      defaultPools: this.pools.map((p) => p.id),
      fallbackPool: this.fallbackPool.id,
    });
  }
}
