/**
 * PlanSecrets: the secrets the plan needs, declared without values (operators put the values with
 * `aws secretsmanager put-secret-value`; nothing secret is ever in this repository or the synthesized
 * JSON). Their home is the storage region, independent of both compute regions, and each is replicated
 * to the regions that read it, so a failover needs no re-entry of credentials.
 */
import { Construct } from "constructs";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";

export interface PlanSecret {
  readonly name: string;
  readonly description: string;
  /** Regions that read it besides the home region. @default none */
  readonly replicas?: readonly string[];
}

export interface PlanSecretsProps {
  /** Home region of every secret. */
  readonly region: string;
  readonly secrets: readonly PlanSecret[];
}

export class PlanSecrets extends Construct {
  readonly secrets: SecretsmanagerSecret[];

  constructor(scope: Construct, id: string, props: PlanSecretsProps) {
    super(scope, id);
    const names = props.secrets.map((s) => s.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`${this.node.path}: secret "${dup}" is declared twice; give each secret its own name`);
    this.secrets = props.secrets.map((s) => {
      const replicas = [...new Set(s.replicas ?? [])].filter((r) => r !== props.region);
      return new SecretsmanagerSecret(this, s.name.replace(/[^A-Za-z0-9-]/g, "-"), {
        region: props.region,
        name: s.name,
        description: s.description,
        recoveryWindowInDays: 30,
        replica: replicas.map((region) => ({ region })),
      });
    });
  }
}
