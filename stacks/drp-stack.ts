/**
 * What every stack of the plan shares: its state in the state bucket (outside the primary region, one
 * state file per stack so a failover deploy touches only its own stacks), an AWS provider whose default
 * region is the stack's home (resources still name their region), the plan's tags, and the policy checks.
 */
import { Construct } from "constructs";
import { S3Backend, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { CloudflareProvider } from "@cdktf/provider-cloudflare/lib/provider";
import type { Deployment } from "../constructs/config";
import { applyPolicies } from "../constructs/policies";
import { bucketKeyAlias } from "../constructs/secure-bucket";

/** The S3 backend's use_lockfile (state locking without DynamoDB) needs Terraform 1.10. */
export const TERRAFORM_REQUIRED_VERSION = ">= 1.10";

export interface DrpStackProps {
  readonly deployment: Deployment;
  /** Default region of the stack's AWS provider. */
  readonly homeRegion: string;
  /** Use the DR account's role (storage and export), when the config names one. @default false */
  readonly inDrAccount?: boolean;
  /** Declare the Cloudflare provider (token from CLOUDFLARE_API_TOKEN). @default false */
  readonly cloudflare?: boolean;
}

export class DrpStack extends TerraformStack {
  readonly deployment: Deployment;

  constructor(scope: Construct, id: string, props: DrpStackProps) {
    super(scope, id);
    const { config } = props.deployment;
    this.deployment = props.deployment;
    const backend = new S3Backend(this, {
      bucket: config.state.bucket,
      key: `${config.project}/${id}.tfstate`,
      region: config.state.region,
      encrypt: true,
      // The state bucket's own key (SecureBucket in the state stack); without it `encrypt` means SSE-S3.
      kmsKeyId: bucketKeyAlias(config.state.bucket),
    });
    backend.addOverride("use_lockfile", true);
    this.addOverride("terraform.required_version", TERRAFORM_REQUIRED_VERSION);
    const role = props.inDrAccount ? config.drAccount?.assumeRoleArn : undefined;
    new AwsProvider(this, "aws", {
      region: props.homeRegion,
      assumeRole: role ? [{ roleArn: role, sessionName: `drp-${id}` }] : undefined,
      defaultTags: [{ tags: { project: config.project, "managed-by": "cdktf", plan: "disaster-recovery", stack: id } }],
    });
    if (props.cloudflare) new CloudflareProvider(this, "cloudflare", {});
    applyPolicies(this, props.deployment);
  }
}
