/**
 * MaintenancePage: isolation at the edge. Deploys the bundled maintenance Worker (./worker, bundled by
 * ./bundle) on the app's route and on the maintenance hostname, with exactly the bindings the Worker reads
 * (./bindings). `maintenance: true` forces the "Mantenimiento Programado" page for every request; otherwise
 * the Worker passes traffic through and isolates visitors from origin failures. The smoke bypass token
 * comes from Secrets Manager at deploy time and never appears in the synthesized JSON.
 */
import { Construct } from "constructs";
import { DataAwsSecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-secret-version";
import { WorkersScript } from "@cdktf/provider-cloudflare/lib/workers-script";
import { WorkersRoute } from "@cdktf/provider-cloudflare/lib/workers-route";
import { DnsRecord } from "@cdktf/provider-cloudflare/lib/dns-record";
import { BindingName, plainTextBindings, WORKER_BINDINGS, WORKER_COMPATIBILITY_DATE } from "./bindings";
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
  /** Secret holding the smoke bypass token, and its region. */
  readonly bypassTokenSecretName: string;
  readonly secretRegion: string;
}

export class MaintenancePage extends Construct {
  readonly script: WorkersScript;

  constructor(scope: Construct, id: string, props: MaintenancePageProps) {
    super(scope, id);
    const token = new DataAwsSecretsmanagerSecretVersion(this, "bypass-token", { region: props.secretRegion, secretId: props.bypassTokenSecretName });
    // Validated by the same parsers the Worker uses, so a value the Worker would reject never deploys.
    const plain = plainTextBindings({
      MAINTENANCE: props.maintenance ? "on" : "off",
      ORIGIN_TIMEOUT_MS: String(props.originTimeoutSeconds * 1000),
      MAINTENANCE_HOSTNAME: props.maintenanceHostname,
    });
    const values: Record<BindingName, string> = {
      ...(Object.fromEntries(plain.map((b) => [b.name, b.text])) as Record<Exclude<BindingName, "BYPASS_TOKEN">, string>),
      BYPASS_TOKEN: token.secretString,
    };
    const bundle = bundleWorker();
    this.script = new WorkersScript(this, "script", {
      accountId: props.accountId,
      scriptName: props.scriptName,
      mainModule: "worker.js",
      // Escaped so Terraform passes the bundle through verbatim instead of reading its `${` as references.
      content: terraformLiteral(bundle.code),
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      bindings: (Object.keys(WORKER_BINDINGS) as BindingName[]).map((name) => ({
        name,
        type: WORKER_BINDINGS[name].type,
        text: values[name],
      })),
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
