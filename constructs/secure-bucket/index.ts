/**
 * SecureBucket: an S3 bucket that is private, versioned, encrypted with its own KMS key (bucket key on)
 * and reachable only over TLS. Lifecycle rules are added with addLifecycleRule and rendered at synth,
 * each with an explicit filter (rules without one are deprecated by the AWS provider).
 */
import { Construct } from "constructs";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import {
  S3BucketLifecycleConfiguration,
  S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";

export interface LifecycleRule {
  /** Rule ID, unique within the bucket. */
  readonly id: string;
  /** Key prefix the rule applies to; "" for the whole bucket. */
  readonly prefix: string;
  /** Move current versions to this storage class after `transitionAfterDays`. @default no transition */
  readonly transitionTo?: "STANDARD_IA" | "GLACIER_IR" | "GLACIER" | "DEEP_ARCHIVE";
  readonly transitionAfterDays?: number;
  /** Expire current versions after this many days. @default never */
  readonly expireAfterDays?: number;
  /** Permanently delete noncurrent versions after this many days. @default kept */
  readonly noncurrentExpireAfterDays?: number;
  /** Abort incomplete multipart uploads after this many days. @default not aborted */
  readonly abortMultipartAfterDays?: number;
}

/** Alias of a SecureBucket's key: known before the key exists, so a backend configuration can name it. */
export function bucketKeyAlias(bucketName: string): string {
  return `alias/${bucketName}`;
}

export interface SecureBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  /** Region the bucket lives in (AWS provider 6 takes it per resource). */
  readonly region: string;
  /** Enable Object Lock with this default retention in days. @default Object Lock off */
  readonly objectLockDays?: number;
  /** Object Lock mode for the default retention. @default "GOVERNANCE" */
  readonly objectLockMode?: "GOVERNANCE" | "COMPLIANCE";
  /** Extra statements for the bucket policy (the TLS-only deny is always present). */
  readonly extraPolicyStatements?: readonly object[];
}

export class SecureBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly key: KmsKey;
  readonly versioning: S3BucketVersioningA;
  private readonly rules: LifecycleRule[] = [];
  private readonly region: string;
  private lifecycle?: S3BucketLifecycleConfiguration;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const { region } = props;
    this.region = region;
    const errors = validateProps(props);
    if (errors.length) throw new Error(`${this.node.path}: ${errors.join("; ")}`);

    this.key = new KmsKey(this, "key", {
      region,
      description: `Encryption key of s3://${props.bucketName}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    new KmsAlias(this, "key-alias", { region, name: bucketKeyAlias(props.bucketName), targetKeyId: this.key.keyId });

    this.bucket = new S3Bucket(this, "bucket", {
      region,
      bucket: props.bucketName,
      objectLockEnabled: props.objectLockDays !== undefined,
      lifecycle: { preventDestroy: true },
    });
    const bucket = this.bucket.id;

    this.versioning = new S3BucketVersioningA(this, "versioning", { region, bucket, versioningConfiguration: { status: "Enabled" } });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      region,
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }],
    });
    new S3BucketPublicAccessBlock(this, "public-access-block", {
      region,
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", { region, bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
    new S3BucketPolicy(this, "policy", {
      region,
      bucket,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          ...(props.extraPolicyStatements ?? []),
        ],
      }),
    });
    if (props.objectLockDays !== undefined) {
      new S3BucketObjectLockConfigurationA(this, "object-lock", {
        region,
        bucket,
        rule: { defaultRetention: { mode: props.objectLockMode ?? "GOVERNANCE", days: props.objectLockDays } },
        dependsOn: [this.versioning],
      });
    }
  }

  /** Adds a lifecycle rule (rules apply in the order added); the configuration exists once a rule does. */
  addLifecycleRule(rule: LifecycleRule): this {
    if (this.rules.some((r) => r.id === rule.id)) throw new Error(`${this.node.path}: duplicate lifecycle rule id "${rule.id}"`);
    if ((rule.transitionTo === undefined) !== (rule.transitionAfterDays === undefined))
      throw new Error(`${this.node.path}: lifecycle rule "${rule.id}" needs both transitionTo and transitionAfterDays, or neither`);
    if (rule.transitionAfterDays !== undefined && rule.expireAfterDays !== undefined && rule.expireAfterDays <= rule.transitionAfterDays)
      throw new Error(`${this.node.path}: lifecycle rule "${rule.id}" expires (day ${rule.expireAfterDays}) before it transitions (day ${rule.transitionAfterDays})`);
    this.rules.push(rule);
    const rules = this.rules.map(renderRule);
    if (this.lifecycle) this.lifecycle.putRule(rules);
    else
      this.lifecycle = new S3BucketLifecycleConfiguration(this, "lifecycle", {
        region: this.region,
        bucket: this.bucket.id,
        rule: rules,
        dependsOn: [this.versioning],
      });
    return this;
  }
}

function validateProps(p: SecureBucketProps): string[] {
  const errors: string[] = [];
  if (p.objectLockMode !== undefined && p.objectLockDays === undefined) errors.push("objectLockMode is set but objectLockDays is not; set both to enable Object Lock");
  if (p.objectLockDays !== undefined && !(Number.isInteger(p.objectLockDays) && p.objectLockDays > 0))
    errors.push(`objectLockDays must be a positive whole number of days, got ${p.objectLockDays}`);
  return errors;
}

function renderRule(r: LifecycleRule): S3BucketLifecycleConfigurationRule {
  return {
    id: r.id,
    status: "Enabled",
    filter: [{ prefix: r.prefix }],
    transition: r.transitionTo ? [{ days: r.transitionAfterDays, storageClass: r.transitionTo }] : undefined,
    expiration: r.expireAfterDays !== undefined ? [{ days: r.expireAfterDays }] : undefined,
    noncurrentVersionExpiration: r.noncurrentExpireAfterDays !== undefined ? [{ noncurrentDays: r.noncurrentExpireAfterDays }] : undefined,
    abortIncompleteMultipartUpload: r.abortMultipartAfterDays !== undefined ? [{ daysAfterInitiation: r.abortMultipartAfterDays }] : undefined,
  };
}
