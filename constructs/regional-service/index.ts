/**
 * RegionalService: the app in one AWS region. ECS Fargate behind an HTTPS ALB that only Cloudflare can
 * reach, Redis for the queues, logs with retention, autoscaling to at least 5x nominal, and a DNS-only
 * origin record in Cloudflare that the edge load balancer points at. Instantiated once per compute region;
 * it reads nothing from any other region, so the secondary can be deployed while the primary is down.
 * With the faultInjection prop (only `-c chaos=on`, primary region) its tasks are readied for AWS FIS.
 */
import { Construct } from "constructs";
import { Fn, TerraformIterator, Token } from "cdktf";
import { DataAwsSecretsmanagerSecret } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-secret";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { EcsService } from "@cdktf/provider-aws/lib/ecs-service";
import { AppautoscalingTarget } from "@cdktf/provider-aws/lib/appautoscaling-target";
import { AppautoscalingPolicy } from "@cdktf/provider-aws/lib/appautoscaling-policy";
import { ElasticacheSubnetGroup } from "@cdktf/provider-aws/lib/elasticache-subnet-group";
import { ElasticacheReplicationGroup } from "@cdktf/provider-aws/lib/elasticache-replication-group";
import { DataCloudflareIpRanges } from "@cdktf/provider-cloudflare/lib/data-cloudflare-ip-ranges";
import { DnsRecord } from "@cdktf/provider-cloudflare/lib/dns-record";
import { fargateSizeProblem } from "../fargate";
import { serviceRole } from "../iam";
import { validName } from "../names";
import { Network } from "../network";
import { faultInjectionReadiness, type FaultInjectionProps } from "./fault-injection";

export { SSM_AGENT_CONTAINER, type FaultInjectionProps } from "./fault-injection";

export interface RegionalServiceProps {
  /** Resource name prefix, unique per region (e.g. livestreamsell-primary). */
  readonly name: string;
  readonly region: string;
  /** Serving region (true) or pilot light (false): same resources, no tasks, one Redis node. */
  readonly active: boolean;
  /** Image reference pinned by digest: ghcr.io/org/app@sha256:... */
  readonly image: string;
  /** Secrets Manager secret with GHCR pull credentials, present in this region (a replica is fine). */
  readonly registrySecretName: string;
  readonly vpcCidr: string;
  /** Container port. @default 8080 */
  readonly port?: number;
  /** Path the ALB and the edge monitor probe. @default "/healthz" */
  readonly healthPath?: string;
  /** Fargate CPU units. @default 512 */
  readonly cpu?: number;
  /** Fargate memory in MiB. @default 1024 */
  readonly memoryMiB?: number;
  /** Tasks at nominal load; the minimum while active. */
  readonly nominalTasks: number;
  /** Autoscaling ceiling; at least 5 x nominalTasks. */
  readonly maxTasks: number;
  /** @default "cache.t4g.small" */
  readonly redisNodeType?: string;
  /** CloudWatch log retention in days. @default 30 */
  readonly logRetentionDays?: number;
  /** Hostname of this region's origin (DNS-only record to the ALB). */
  readonly originHostname: string;
  /** Public hostname this origin serves (the edge reaches the origin by originHostname, which the certificate names). */
  readonly appHostname: string;
  readonly cloudflareZoneId: string;
  /** Ready the tasks for AWS FIS fault injection (chaos=on); see ./fault-injection. @default undefined (not ready) */
  readonly faultInjection?: FaultInjectionProps;
}

/** Requests per target per minute the scaling policy aims at (a task handles ~500 comments/minute). */
const REQUESTS_PER_TASK = 500;

export class RegionalService extends Construct {
  readonly service: EcsService;
  readonly scaling: AppautoscalingTarget;
  readonly loadBalancer: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly cluster: EcsCluster;
  readonly redis: ElasticacheReplicationGroup;
  readonly originRecord: DnsRecord;

  constructor(scope: Construct, id: string, props: RegionalServiceProps) {
    super(scope, id);
    const errors: string[] = [];
    if (props.maxTasks < 5 * props.nominalTasks) errors.push(`maxTasks (${props.maxTasks}) must be at least 5 x nominalTasks (${props.nominalTasks}) for the 5,000 comments/minute spike`);
    if (!/@sha256:[a-f0-9]{64}$/.test(props.image)) errors.push(`image "${props.image}" must be pinned by digest (...@sha256:<64 hex>)`);
    const size = fargateSizeProblem(props.cpu ?? 512, props.memoryMiB ?? 1024);
    if (size) errors.push(`${size} (props cpu and memoryMiB; config app.cpu and app.memoryMiB)`);
    if (errors.length) throw new Error(`${this.node.path}: ${errors.join("; ")}`);

    const { region, name } = props;
    const field = "name (made from the configuration's project)";
    const port = props.port ?? 8080;
    const healthPath = props.healthPath ?? "/healthz";

    const network = new Network(this, "network", { name, region, cidr: props.vpcCidr, privateSubnets: true });
    const vpc = network.vpc;

    const cloudflare = new DataCloudflareIpRanges(this, "cloudflare-ips", {});
    const egressAll = [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }];
    const albSg = new SecurityGroup(this, "alb-sg", {
      region,
      name: `${name}-alb`,
      description: "HTTPS from Cloudflare only",
      vpcId: vpc.id,
      ingress: [{ fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: cloudflare.ipv4Cidrs, ipv6CidrBlocks: cloudflare.ipv6Cidrs }],
      egress: egressAll,
    });
    const taskSg = new SecurityGroup(this, "task-sg", {
      region,
      name: `${name}-tasks`,
      description: "App port from the ALB only",
      vpcId: vpc.id,
      ingress: [{ fromPort: port, toPort: port, protocol: "tcp", securityGroups: [albSg.id] }],
      egress: egressAll,
    });
    const redisSg = new SecurityGroup(this, "redis-sg", {
      region,
      name: `${name}-redis`,
      description: "Redis from the app tasks only",
      vpcId: vpc.id,
      ingress: [{ fromPort: 6379, toPort: 6379, protocol: "tcp", securityGroups: [taskSg.id] }],
    });

    // ---- TLS origin: certificate validated through Cloudflare DNS. It names only this region's origin
    // hostname, so each region validates its own record (the edge sends that hostname as Host and SNI):
    // a shared name would make both regions create, and either one delete, the same validation record.
    const cert = new AcmCertificate(this, "cert", {
      region,
      domainName: props.originHostname,
      validationMethod: "DNS",
      lifecycle: { createBeforeDestroy: true },
    });
    const validations = TerraformIterator.fromComplexList(cert.domainValidationOptions, "domain_name");
    // ACM writes names and values as absolute names ("...example.com."); Cloudflare stores them without
    // the dot, so the record would differ from its configuration on every plan.
    const validationRecords = new DnsRecord(this, "cert-validation", {
      forEach: validations,
      zoneId: props.cloudflareZoneId,
      name: Fn.trimsuffix(validations.getString("resource_record_name"), "."),
      type: validations.getString("resource_record_type"),
      content: Fn.trimsuffix(validations.getString("resource_record_value"), "."),
      ttl: 60,
      proxied: false,
    });
    const certValidation = new AcmCertificateValidation(this, "cert-validated", {
      region,
      certificateArn: cert.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(validationRecords).pluckProperty("name")),
    });

    // ---- load balancer
    this.loadBalancer = new Lb(this, "alb", {
      region,
      name: validName(this, "loadBalancer", `${name}-alb`, field),
      loadBalancerType: "application",
      internal: false,
      securityGroups: [albSg.id],
      subnets: network.publicSubnetIds,
      dropInvalidHeaderFields: true,
      enableDeletionProtection: true,
    });
    const targets = (this.targetGroup = new LbTargetGroup(this, "targets", {
      region,
      name: validName(this, "targetGroup", `${name}-app`, field),
      port,
      protocol: "HTTP",
      targetType: "ip",
      vpcId: vpc.id,
      deregistrationDelay: "30",
      healthCheck: { path: healthPath, matcher: "200-299", interval: 15, healthyThreshold: 2, unhealthyThreshold: 3, timeout: 5 },
    }));
    const listener = new LbListener(this, "https", {
      region,
      loadBalancerArn: this.loadBalancer.arn,
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      certificateArn: certValidation.certificateArn,
      defaultAction: [{ type: "forward", targetGroupArn: targets.arn }],
    });
    this.originRecord = new DnsRecord(this, "origin-record", {
      zoneId: props.cloudflareZoneId,
      name: props.originHostname,
      type: "CNAME",
      content: this.loadBalancer.dnsName,
      ttl: 60,
      proxied: false,
      comment: `Origin of ${props.appHostname} in ${region}; the edge load balancer points here`,
    });

    // ---- Redis (queues). Pilot light keeps one node; the active region runs a replica with failover.
    const redisSubnets = new ElasticacheSubnetGroup(this, "redis-subnets", {
      region,
      name: validName(this, "cacheSubnetGroup", `${name}-redis`, field),
      subnetIds: network.privateSubnetIds,
    });
    this.redis = new ElasticacheReplicationGroup(this, "redis", {
      region,
      replicationGroupId: validName(this, "redisReplicationGroup", `${name}-queues`, field),
      description: `Queues of ${name}`,
      engine: "redis",
      nodeType: props.redisNodeType ?? "cache.t4g.small",
      numCacheClusters: props.active ? 2 : 1,
      automaticFailoverEnabled: props.active,
      multiAzEnabled: props.active,
      atRestEncryptionEnabled: "true",
      transitEncryptionEnabled: true,
      subnetGroupName: redisSubnets.name,
      securityGroupIds: [redisSg.id],
      snapshotRetentionLimit: 1,
    });

    // ---- ECS service
    const logs = new CloudwatchLogGroup(this, "logs", { region, name: `/ecs/${name}`, retentionInDays: props.logRetentionDays ?? 30 });
    const cluster = (this.cluster = new EcsCluster(this, "cluster", { region, name: validName(this, "ecs", name, field), setting: [{ name: "containerInsights", value: "enabled" }] }));
    const pullSecret = new DataAwsSecretsmanagerSecret(this, "registry-secret", { region, name: props.registrySecretName });
    const executionRole = serviceRole(this, "execution-role", {
      name: `${name}-execution`,
      service: "ecs-tasks.amazonaws.com",
      statements: [
        { Sid: "PullFromGhcr", Action: "secretsmanager:GetSecretValue", Resource: pullSecret.arn },
        { Sid: "WriteLogs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logs.arn}:*` },
      ],
    });
    const fis = props.faultInjection ? faultInjectionReadiness(this, name, props.faultInjection) : undefined;
    const taskRole = serviceRole(this, "task-role", { name: `${name}-task`, service: "ecs-tasks.amazonaws.com", statements: fis?.taskRoleStatements ?? [] });
    const taskDefinition = new EcsTaskDefinition(this, "task", {
      region,
      family: name,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(props.cpu ?? 512),
      memory: String(props.memoryMiB ?? 1024),
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      ...fis?.taskDefinition,
      containerDefinitions: JSON.stringify([
        {
          name: "app",
          image: props.image,
          essential: true,
          repositoryCredentials: { credentialsParameter: pullSecret.arn },
          portMappings: [{ containerPort: port, protocol: "tcp" }],
          environment: [
            { name: "PORT", value: String(port) },
            { name: "REDIS_URL", value: `rediss://${this.redis.primaryEndpointAddress}:6379` },
            { name: "DRP_REGION", value: region },
          ],
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logs.name, "awslogs-region": region, "awslogs-stream-prefix": "app" } },
        },
        ...(fis ? [fis.container({ group: logs.name, region })] : []),
      ]),
    });
    const minTasks = props.active ? props.nominalTasks : 0;
    this.service = new EcsService(this, "service", {
      region,
      name,
      cluster: cluster.arn,
      taskDefinition: taskDefinition.arn,
      launchType: "FARGATE",
      desiredCount: minTasks,
      healthCheckGracePeriodSeconds: 60,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: { subnets: network.publicSubnetIds, securityGroups: [taskSg.id], assignPublicIp: true },
      loadBalancer: [{ targetGroupArn: targets.arn, containerName: "app", containerPort: port }],
      // Autoscaling owns the running count between deploys; min_capacity below moves it on failover.
      lifecycle: { ignoreChanges: ["desired_count"] },
      // ECS refuses a target group that no listener forwards to yet: create the listener first.
      dependsOn: [listener],
    });

    this.scaling = new AppautoscalingTarget(this, "scaling", {
      region,
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: `service/${cluster.name}/${this.service.name}`,
      minCapacity: minTasks,
      maxCapacity: props.active ? props.maxTasks : 0,
    });
    new AppautoscalingPolicy(this, "scale-on-cpu", {
      region,
      name: `${name}-cpu`,
      policyType: "TargetTrackingScaling",
      serviceNamespace: "ecs",
      scalableDimension: this.scaling.scalableDimension,
      resourceId: this.scaling.resourceId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: 60,
        scaleOutCooldown: 30,
        scaleInCooldown: 300,
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
      },
    });
    new AppautoscalingPolicy(this, "scale-on-requests", {
      region,
      name: `${name}-requests`,
      policyType: "TargetTrackingScaling",
      serviceNamespace: "ecs",
      scalableDimension: this.scaling.scalableDimension,
      resourceId: this.scaling.resourceId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: REQUESTS_PER_TASK,
        scaleOutCooldown: 30,
        scaleInCooldown: 300,
        predefinedMetricSpecification: {
          predefinedMetricType: "ALBRequestCountPerTarget",
          resourceLabel: `${this.loadBalancer.arnSuffix}/${targets.arnSuffix}`,
        },
      },
    });
  }
}
