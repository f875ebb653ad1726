/**
 * The plan's one configuration: a JSON file validated with zod, plus the deploy context
 * (`-c region=... -c maintenance=... -c image=...`). Every region-dependent value is derived here,
 * in `resolveDeployment`; nothing else reads the context.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { CHAOS_MAX_DURATION_MINUTES, FIS_PARAMETER_MAX } from "./chaos-experiments/fis-actions";
import { FARGATE_SIZES, fargateSizeProblem } from "./fargate";

const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region code such as sa-east-1");
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)");
/** An image digest as GHCR gives it. */
export const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;
const digest = z.string().regex(IMAGE_DIGEST, "must be an image digest: sha256 followed by 64 hex digits");
const hostname = z.string().regex(/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/, "must be a lowercase DNS hostname");
const secretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, "must be a Secrets Manager secret name");
const sqlIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_$]{0,62}(\.[a-z_][a-z0-9_$]{0,62})?$/, "must be a table name such as orders or public.orders");

/** Chaos experiment settings (config `chaos`); see chaosSettings. */
const ChaosSchema = z
  .strictObject({
    /** Hosts of the AI provider the app calls; the ai-latency fault delays traffic to them. */
    aiHosts: z.array(hostname).min(1).max(10).default(["api.openai.com"]),
    /** Hosts of the payment gateways (Flow, PayPal); the payment-down fault drops traffic to them. */
    paymentHosts: z.array(hostname).min(1).max(10).default(["www.flow.cl", "api-m.paypal.com"]),
    /** Latency the ai-latency fault adds to every packet towards the AI hosts. */
    aiLatencyMs: z.int().min(1000).max(60000).default(30000),
    /** How long each fault lasts (an experiment stops earlier when a stop-condition alarm fires). */
    durationMinutes: z.int().min(1).max(CHAOS_MAX_DURATION_MINUTES).default(5),
    /** Share of the service's running tasks the webhook-disconnect experiment stops. */
    stopTaskPercent: z.int().min(1).max(100).default(50),
    /** Stop condition: more target 5xx responses than this in one minute. */
    max5xxPerMinute: z.int().min(1).max(100000).default(20),
    /** Stop condition: p95 target response time above this, two minutes in a row. */
    maxResponseSeconds: z.number().min(0.1).max(60).default(3),
    /** SSM agent sidecar image that lets FIS reach the tasks (AWS's, from the FIS user guide). */
    ssmAgentImage: z
      .string()
      .regex(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/, "must be an image reference with a tag or digest, such as public.ecr.aws/amazon-ssm-agent/amazon-ssm-agent:latest")
      .default("public.ecr.aws/amazon-ssm-agent/amazon-ssm-agent:latest"),
  });

export const ConfigSchema = z
  .strictObject({
    /** Prefix for every resource name. */
    project: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/, "must be 2-31 lowercase letters, digits or hyphens"),
    regions: z.strictObject({
      /** Where the app serves in normal operation. */
      primary: awsRegion,
      /** Where it serves after failover; must differ from primary. */
      secondary: awsRegion,
      /** DR bucket, export job and Terraform state: independent of both compute regions. */
      storage: awsRegion,
    }),
    /** Optional second AWS account that owns the DR storage (assume-role). */
    drAccount: z.strictObject({ assumeRoleArn: z.string().regex(/^arn:aws:iam::\d{12}:role\/.+$/, "must be an IAM role ARN") }).optional(),
    state: z.strictObject({
      bucket: bucketName,
      /** Kept out of the primary region so failover can read and write state. */
      region: awsRegion,
    }),
    /** The app's files/images bucket, replicated continuously into the DR bucket. */
    files: z.strictObject({
      bucket: bucketName,
      region: awsRegion,
      /** Replicated under the same keys; this prefix selects what is replicated ("" = everything). */
      prefix: z.string().default(""),
    }),
    app: z.strictObject({
      image: z.string().regex(/^ghcr\.io\/[a-z0-9._/-]+$/, "must be a GHCR repository such as ghcr.io/org/app (no tag)"),
      /** The last stable image, pinned by digest; `-c image=sha256:...` overrides it for one deploy. */
      digest,
      port: z.int().min(1).max(65535).default(8080),
      healthPath: z.string().startsWith("/").default("/healthz"),
      cpu: z.int().refine((v) => v in FARGATE_SIZES, `must be a Fargate CPU size: ${Object.keys(FARGATE_SIZES).join(", ").replace(/, (\d+)$/, " or $1")}`).default(512),
      memoryMiB: z.int().min(512).max(30720).default(1024),
      /** Tasks that carry nominal load (1,000 comments/minute). */
      nominalTasks: z.int().min(1).max(100).default(2),
      /** Autoscaling ceiling; must reach 5x nominal for the 5,000 comments/minute spike. */
      maxTasks: z.int().min(1).max(500).default(10),
      /** Secrets Manager secret (in the primary region, replicated) with GHCR pull credentials. */
      registrySecretName: secretName,
      redisNodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, "must be an ElastiCache node type").default("cache.t4g.small"),
      vpcCidr: z.strictObject({ primary: z.string(), secondary: z.string() }).default({ primary: "10.10.0.0/16", secondary: "10.20.0.0/16" }),
    }),
    edge: z.strictObject({
      accountId: z.string().regex(/^[a-f0-9]{32}$/, "must be a 32-hex Cloudflare account ID"),
      zoneId: z.string().regex(/^[a-f0-9]{32}$/, "must be a 32-hex Cloudflare zone ID"),
      zoneName: hostname,
      /** Public hostname of the app, served through the load balancer and the Worker. */
      appHostname: hostname,
      /** Seconds the Worker waits for the origin before answering with the maintenance page. */
      originTimeoutSeconds: z.int().min(1).max(100).default(15),
      /** Load-balancer monitor interval; Cloudflare's minimum below the Business plan is 60 s. */
      monitorIntervalSeconds: z.int().min(15).max(3600).default(60),
      /** Secrets Manager secret (storage region) holding the smoke bypass token for the Worker. */
      bypassTokenSecretName: secretName,
      /** Secrets Manager secret (storage region) holding the Meta app secret: the Worker verifies webhook signatures with it. */
      metaAppSecretName: secretName.default("livestreamsell/meta-app-secret"),
      /** Secrets Manager secret (storage region) holding the verify token of the Meta webhook subscription. */
      metaVerifyTokenSecretName: secretName.default("livestreamsell/meta-verify-token"),
    }),
    detection: z.strictObject({
      /** The alarm fires only after the health check has failed for more than this many minutes. */
      unhealthyMinutes: z.int().min(5).max(60).default(5),
      /** Secrets Manager secret (us-east-1) holding the PagerDuty Events API v2 integration URL. */
      pagerdutySecretName: secretName,
      slack: z.strictObject({
        workspaceId: z.string().regex(/^[A-Z0-9]{9,12}$/, "must be a Slack workspace (team) ID such as T012AB3CD"),
        channelId: z.string().regex(/^[A-Z0-9]{9,12}$/, "must be a Slack channel ID such as C012AB3CD"),
      }),
      /** Replication latency (seconds) above which the replication alarm fires. */
      replicationLagSeconds: z.int().min(60).max(86400).default(900),
    }),
    retention: z
      .strictObject({
        /** Weekly exports are kept at least this long (5 weekly copies). */
        exportDays: z.int().min(35).max(3650).default(35),
        /** Exports move to colder storage after this many days. */
        coldAfterDays: z.int().min(1).max(3650).default(7),
        /** Object Lock default retention (compliance-free governance mode). */
        objectLockDays: z.int().min(1).max(3650).default(35),
        /** Older versions of replicated files are kept this long. */
        noncurrentVersionDays: z.int().min(1).max(3650).default(35),
        /** CloudWatch log retention for the app and the export job. */
        logDays: z.int().min(1).max(3653).default(30),
        /** Supabase PITR window: a fact of the Supabase plan, not set by this project. */
        pitrDays: z.union([z.literal(7), z.literal(14), z.literal(28)]).default(7),
      })
      .prefault({}),
    export: z.strictObject({
      /** EventBridge Scheduler expression for the weekly export. */
      schedule: z.string().regex(/^(cron|rate)\(.+\)$/, "must be a Scheduler expression such as cron(0 6 ? * SUN *)").default("cron(0 6 ? * SUN *)"),
      /** Tables whose exact row counts go into the manifest and are checked on restore. */
      criticalTables: z.array(sqlIdentifier).min(1).default(["orders", "order_states", "audit_logs"]),
      /** Key prefix of exports in the DR bucket (the job may write only under it). */
      prefix: z.string().regex(/^[a-z0-9][a-z0-9/_-]*\/$/, "must be a key prefix ending in / such as exports/").default("exports/"),
      /** Secrets Manager secret (storage region) with the database URL the job dumps. */
      databaseUrlSecretName: secretName,
      /** GHCR image of the export job, pinned by digest. */
      image: z.string().regex(/^ghcr\.io\/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$/, "must be ghcr.io/org/name@sha256:<64 hex>"),
    }),
    /** The plan's own code, backed up to the DR bucket on every push to main (.github/workflows/code-backup.yml). */
    codeBackup: z
      .strictObject({
        /** GitHub repository (owner/name) whose workflow on main may assume the writer role. */
        githubRepository: z.string().regex(/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/, "must be owner/name of the GitHub repository").default("livestreamsell/drp"),
        /** Branch whose pushes are backed up: the only ref the role trusts. */
        branch: z.string().regex(/^[A-Za-z0-9._/-]{1,100}$/, "must be a branch name").default("main"),
      })
      .prefault({}),
    /** The daily check that every backup promise holds (`drp backups check`), run as a scheduled task. */
    assurance: z.strictObject({
      /** EventBridge Scheduler expression (UTC) of the daily check. */
      schedule: z.string().regex(/^(cron|rate)\(.+\)$/, "must be a Scheduler expression such as cron(0 7 * * ? *)").default("cron(0 7 * * ? *)"),
      /** Supabase project whose backups are checked. */
      supabaseProjectRef: z.string().regex(/^[a-z]{20}$/, "must be a Supabase project ref: 20 lowercase letters"),
      /** Secrets Manager secret (storage region) with a Supabase access token for the scheduled check. */
      supabaseTokenSecretName: secretName,
      /** Supabase takes a backup every 24 h: the newest must be younger than this. */
      dailyBackupMaxAgeHours: z.int().min(24).max(168).default(26),
      /** The PITR window's latest recovery point must be younger than this (WAL ships every 2 min). */
      recoveryPointMaxAgeMinutes: z.int().min(5).max(1440).default(30),
      /** The newest complete weekly export must be younger than this. */
      exportMaxAgeDays: z.int().min(7).max(60).default(8),
      /** Newest objects of the files bucket whose replication status is read. */
      replicationSampleObjects: z.int().min(1).max(1000).default(200),
      /** Sampled objects allowed in FAILED replication status. */
      replicationMaxFailed: z.int().min(0).max(1000).default(0),
      /** Sampled objects allowed in PENDING replication status. */
      replicationMaxPending: z.int().min(0).max(1000).default(20),
      /** Without a checkout of main to compare with (the scheduled task), the newest code bundle must be younger than this. */
      codeBundleMaxAgeDays: z.int().min(1).max(90).default(8),
    }),
    /**
     * Chaos experiments (the chaos stack, declared only with `-c chaos=on`): the hosts each fault is aimed
     * at and the guardrails of the AWS FIS experiment templates. Optional: chaosSettings() gives the defaults.
     */
    chaos: ChaosSchema.optional(),
    /** Render: the alternative target of the restore-service step (`drp render`, `drp failover --to render`). */
    render: z
      .strictObject({
        /** Render services that run the app image; each gets the same image by digest. */
        services: z
          .array(z.strictObject({ id: z.string().regex(/^srv-[a-z0-9]{10,40}$/, "must be a Render service ID such as srv-abc123def456ghi789jk"), name: z.string().min(1).max(100) }))
          .min(1),
        /** API base URL (tests point it at a local server). */
        apiUrl: z.url({ protocol: /^https?$/ }).default("https://api.render.com"),
        /** A deploy that is not live after this long counts as failed. */
        deployTimeoutMinutes: z.int().min(1).max(120).default(20),
        /** Seconds between deploy status reads (Render allows 400 GET/minute). */
        pollSeconds: z.number().min(0.05).max(300).default(10),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    const r = c.regions;
    if (r.primary === r.secondary)
      ctx.addIssue({ code: "custom", path: ["regions", "secondary"], message: "must differ from regions.primary, or failover lands in the failed region" });
    for (const k of ["primary", "secondary"] as const)
      if (r.storage === r[k])
        ctx.addIssue({ code: "custom", path: ["regions", "storage"], message: `must differ from regions.${k} so the DR copy survives the loss of a compute region` });
    if (c.state.region === r.primary)
      ctx.addIssue({ code: "custom", path: ["state", "region"], message: "must differ from regions.primary: failover has to read and write state while the primary region is down" });
    if (c.files.region === r.storage)
      ctx.addIssue({ code: "custom", path: ["files", "region"], message: "must differ from regions.storage: the replica has to be in another region" });
    const size = c.app.cpu in FARGATE_SIZES ? fargateSizeProblem(c.app.cpu, c.app.memoryMiB) : undefined;
    if (size) ctx.addIssue({ code: "custom", path: ["app", "memoryMiB"], message: size });
    if (c.app.maxTasks < 5 * c.app.nominalTasks)
      ctx.addIssue({ code: "custom", path: ["app", "maxTasks"], message: `must be at least 5 x app.nominalTasks (${5 * c.app.nominalTasks}) to absorb 5,000 comments/minute` });
    if (c.retention.exportDays <= c.retention.coldAfterDays)
      ctx.addIssue({ code: "custom", path: ["retention", "coldAfterDays"], message: "must be less than retention.exportDays" });
    if (c.retention.objectLockDays > c.retention.exportDays)
      ctx.addIssue({ code: "custom", path: ["retention", "objectLockDays"], message: "must not exceed retention.exportDays, or expiry would hit locked versions" });
    for (const k of ["aiHosts", "paymentHosts"] as const)
      if (c.chaos && c.chaos[k].join(",").length > FIS_PARAMETER_MAX)
        ctx.addIssue({ code: "custom", path: ["chaos", k], message: `joined with commas must fit in ${FIS_PARAMETER_MAX} characters (an FIS action parameter's limit); list fewer hosts` });
    if (!c.edge.appHostname.endsWith(`.${c.edge.zoneName}`) && c.edge.appHostname !== c.edge.zoneName)
      ctx.addIssue({ code: "custom", path: ["edge", "appHostname"], message: `must be inside edge.zoneName (${c.edge.zoneName})` });
  });

export type DrpConfig = z.infer<typeof ConfigSchema>;
export type RegionRole = "primary" | "secondary";

/** One error for every problem, each line naming the field and the fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function formatIssues(source: string, error: z.ZodError): string {
  const lines = error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
  return `invalid configuration in ${source}:\n${lines.join("\n")}`;
}

export function parseConfig(raw: unknown, source = "configuration"): DrpConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(source, result.error));
  return result.data;
}

export const DEFAULT_CONFIG_PATH = "config/drp.config.json";

/** Carries the whole configuration into a scheduled task, which has no config file. */
export const CONFIG_JSON_ENV = "DRP_CONFIG_JSON";

export type ChaosSettings = z.infer<typeof ChaosSchema>;

/** The configuration's chaos settings, or their defaults when it has none. */
export function chaosSettings(config: DrpConfig): ChaosSettings {
  return config.chaos ?? ChaosSchema.parse({});
}

/** The independent DR bucket's name: one home, read by the storage stack and the backup check. */
export function drBucketName(config: DrpConfig): string {
  return `${config.project}-dr-${config.regions.storage}`;
}

/** Reads `path`, else DRP_CONFIG_JSON when set, else the file named by DRP_CONFIG (default config/drp.config.json). */
export function loadConfig(path?: string): DrpConfig {
  const inline = path === undefined && !process.env.DRP_CONFIG ? process.env[CONFIG_JSON_ENV] : undefined;
  if (inline) return parseConfigText(inline, CONFIG_JSON_ENV);
  const file = path ?? (process.env.DRP_CONFIG || DEFAULT_CONFIG_PATH);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read configuration ${file}: ${(e as NodeJS.ErrnoException).code ?? e}; set DRP_CONFIG to the file's path`);
  }
  return parseConfigText(text, file);
}

function parseConfigText(text: string, source: string): DrpConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`configuration ${source} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, source);
}

// ---- deploy context -------------------------------------------------------------------------

export const CONTEXT_KEYS = {
  region: ["primary", "secondary"],
  maintenance: ["on", "off"],
  image: ["sha256:<64 hex digits>"],
  chaos: ["on", "off"],
} as const;

export interface DeployContext {
  /** Which region serves traffic. */
  readonly region: RegionRole;
  /** Forces the maintenance page for every request. */
  readonly maintenance: boolean;
  /** Overrides app.digest for this deploy. */
  readonly image?: string;
  /** Declares the chaos stack and readies the primary region's tasks for fault injection. */
  readonly chaos: boolean;
}

/**
 * Validates the raw context map (from `-c key=value` via CDKTF_CONTEXT_JSON, or Testing.app).
 * Keys that cdktf itself sets (cdktfRelativeModules, cdktfStaticModuleAssetHash, ...) are ignored.
 */
export function parseContext(raw: Record<string, unknown>): DeployContext {
  const errors: string[] = [];
  const own = Object.entries(raw).filter(([k]) => !k.startsWith("cdktf") && !k.startsWith("aws:") && !k.startsWith("@"));
  const known = Object.keys(CONTEXT_KEYS);
  for (const [k] of own)
    if (!known.includes(k)) errors.push(`unknown context key "${k}"; valid keys: ${known.map((n) => `${n}=${CONTEXT_KEYS[n as keyof typeof CONTEXT_KEYS].join("|")}`).join(", ")}`);
  const ctx = Object.fromEntries(own);
  const region = ctx.region ?? "primary";
  if (region !== "primary" && region !== "secondary") errors.push(`context region="${region}" is not valid; use region=primary or region=secondary`);
  const maintenance = ctx.maintenance ?? "off";
  if (maintenance !== "on" && maintenance !== "off") errors.push(`context maintenance="${maintenance}" is not valid; use maintenance=on or maintenance=off`);
  const image = ctx.image;
  if (image !== undefined && (typeof image !== "string" || !digest.safeParse(image).success))
    errors.push(`context image="${image}" is not valid; use image=sha256:<64 hex digits> (the digest of a stable GHCR image)`);
  const chaos = ctx.chaos ?? "off";
  if (chaos !== "on" && chaos !== "off") errors.push(`context chaos="${chaos}" is not valid; use chaos=on or chaos=off`);
  // A failover deploy must stay the two stacks it needs; experiments wait until the primary serves again.
  else if (chaos === "on" && region === "secondary")
    errors.push("context chaos=on cannot be combined with region=secondary: no experiment runs while failed over; fail back first (region=primary), then deploy chaos");
  if (errors.length) throw new ConfigError(errors.join("\n"));
  return { region: region as RegionRole, maintenance: maintenance === "on", image: image as string | undefined, chaos: chaos === "on" };
}

/** Everything region-dependent, derived once from config + context. */
export interface Deployment {
  readonly config: DrpConfig;
  readonly context: DeployContext;
  /** Compute regions, serving one first: the load balancer's pool order. */
  readonly poolOrder: readonly { role: RegionRole; region: string }[];
  /** The image reference every compute region runs. */
  readonly image: string;
  /** Whether a compute region serves (the other one is pilot light). */
  isActive(role: RegionRole): boolean;
  /** Hostname of a compute region's origin (the ALB behind Cloudflare). */
  originHostname(role: RegionRole): string;
  /** Hostname that always serves the maintenance page (the load balancer's fallback origin). */
  readonly maintenanceHostname: string;
}

export function resolveDeployment(config: DrpConfig, context: DeployContext): Deployment {
  const other: RegionRole = context.region === "primary" ? "secondary" : "primary";
  const image = `${config.app.image}@${context.image ?? config.app.digest}`;
  return {
    config,
    context,
    poolOrder: [context.region, other].map((role) => ({ role, region: config.regions[role] })),
    image,
    isActive: (role) => role === context.region,
    originHostname: (role) => `origin-${config.regions[role]}.${config.edge.zoneName}`,
    maintenanceHostname: `maintenance.${config.edge.zoneName}`,
  };
}
