/**
 * MaintenancePage: isolation at the edge. Deploys the bundled maintenance Worker (./worker, bundled by
 * ./bundle) on the app's route and on the maintenance hostname, with exactly the bindings the Worker reads
 * (./bindings). `maintenance: true` forces the "Mantenimiento Programado" page for every request; otherwise
 * the Worker passes traffic through and isolates visitors from origin failures. Meta webhooks that arrive
 * meanwhile go to a Cloudflare Queue (with its dead-letter queue) that the same Worker consumes to replay
 * them. The secrets (smoke bypass token, Meta app secret and verify token) come from Secrets Manager at
 * deploy time and never appear in the synthesized JSON.
 */
import { Construct } from "constructs";
import { DataAwsSecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-secret-version";
import { WorkersScript } from "@cdktf/provider-cloudflare/lib/workers-script";
import { WorkersRoute } from "@cdktf/provider-cloudflare/lib/workers-route";
import { DnsRecord } from "@cdktf/provider-cloudflare/lib/dns-record";
import { Queue } from "@cdktf/provider-cloudflare/lib/queue";
import { QueueConsumer } from "@cdktf/provider-cloudflare/lib/queue-consumer";
import {
  DEFAULT_REPLAY_RETRY_DELAY_SECONDS,
  REPLAY_CONSUMER,
  WORKER_BINDINGS,
  WORKER_COMPATIBILITY_DATE,
  plainTextBindings,
  webhookQueueNames,
  type BindingName,
  type SecretBindingName,
  type WebhookQueueRole,
} from "./bindings";
import { bundleWorker } from "./bundle";
import { terraformLiteral } from "../terraform-literal";

export interface MaintenancePageProps {
  readonly accountId: string;
  readonly zoneId: string;
  readonly scriptName: string;
  /** Public hostname whose every request goes through the Worker. */
  readonly appHostname: string;
  /** Originless hostname that always ends on the maintenance page (load balancer fallback). */
  readonly maintenanceHostname: string;
  /** Force the maintenance page. */
  readonly maintenance: boolean;
  /** Time the Worker waits for the origin before isolating the visitor. */
  readonly originTimeoutSeconds: number;
  /** Secret holding the smoke bypass token, and its region (also the region of the Meta secrets). */
  readonly bypassTokenSecretName: string;
  readonly secretRegion: string;
  /** Secret holding the Meta app secret the Worker verifies webhook signatures with. */
  readonly metaAppSecretName: string;
  /** Secret holding the verify token of the Meta webhook subscription. */
  readonly metaVerifyTokenSecretName: string;
}

export class MaintenancePage extends Construct {
  readonly script: WorkersScript;
  /** The webhook buffer and its dead-letter queue. */
  readonly queues: Record<WebhookQueueRole, Queue>;

  constructor(scope: Construct, id: string, props: MaintenancePageProps) {
    super(scope, id);
    const secretNames: Record<SecretBindingName, string> = {
      BYPASS_TOKEN: props.bypassTokenSecretName,
      META_APP_SECRET: props.metaAppSecretName,
      META_VERIFY_TOKEN: props.metaVerifyTokenSecretName,
    };
    const names = webhookQueueNames(props.scriptName);
    // Both queues keep messages as long as Cloudflare allows: the buffer must outlast a long outage.
    this.queues = {
      buffer: new Queue(this, "webhook-queue", { accountId: props.accountId, queueName: names.buffer, settings: { messageRetentionPeriod: REPLAY_CONSUMER.retentionSeconds } }),
      deadLetter: new Queue(this, "webhook-dead-letter-queue", {
        accountId: props.accountId,
        queueName: names.deadLetter,
        settings: { messageRetentionPeriod: REPLAY_CONSUMER.retentionSeconds },
      }),
    };
    // Validated by the same parsers the Worker uses, so a value the Worker would reject never deploys.
    const plain = plainTextBindings({
      MAINTENANCE: props.maintenance ? "on" : "off",
      ORIGIN_TIMEOUT_MS: String(props.originTimeoutSeconds * 1000),
      MAINTENANCE_HOSTNAME: props.maintenanceHostname,
      WEBHOOK_DEAD_LETTER_QUEUE_NAME: names.deadLetter,
    });
    const text = new Map<BindingName, string>(plain.map((b) => [b.name, b.text]));
    for (const [name, secretId] of Object.entries(secretNames) as [SecretBindingName, string][]) {
      text.set(name, new DataAwsSecretsmanagerSecretVersion(this, name.toLowerCase().replace(/_/g, "-"), { region: props.secretRegion, secretId }).secretString);
    }
    const bundle = bundleWorker();
    this.script = new WorkersScript(this, "script", {
      accountId: props.accountId,
      scriptName: props.scriptName,
      mainModule: "worker.js",
      // Escaped so Terraform passes the bundle through verbatim instead of reading its `${` as references.
      content: terraformLiteral(bundle.code),
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      bindings: (Object.keys(WORKER_BINDINGS) as BindingName[]).map((name) => {
        const spec = WORKER_BINDINGS[name];
        if (spec.type === "queue") return { name, type: "queue", queueName: this.queues[spec.queue].queueName };
        return { name, type: spec.type, text: text.get(name) };
      }),
    });
    // The same Worker consumes the buffer and replays; after maxRetries the queue dead-letters a delivery.
    new QueueConsumer(this, "webhook-consumer", {
      accountId: props.accountId,
      queueId: this.queues.buffer.id,
      scriptName: this.script.scriptName,
      type: "worker",
      deadLetterQueue: this.queues.deadLetter.queueName,
      settings: {
        batchSize: REPLAY_CONSUMER.batchSize,
        maxRetries: REPLAY_CONSUMER.maxRetries,
        maxWaitTimeMs: REPLAY_CONSUMER.maxWaitTimeMs,
        retryDelay: DEFAULT_REPLAY_RETRY_DELAY_SECONDS,
      },
    });
    for (const [i, host] of [props.appHostname, props.maintenanceHostname].entries()) {
      new WorkersRoute(this, i === 0 ? "app-route" : "maintenance-route", { zoneId: props.zoneId, pattern: `${host}/*`, script: this.script.scriptName });
    }
    // Originless record: its requests exist only to reach the Worker, which answers them with the page.
    new DnsRecord(this, "maintenance-record", {
      zoneId: props.zoneId,
      name: props.maintenanceHostname,
      type: "AAAA",
      content: "100::",
      ttl: 1,
      proxied: true,
      comment: "Maintenance page: served by the Worker; the load balancer's fallback origin",
    });
  }
}
