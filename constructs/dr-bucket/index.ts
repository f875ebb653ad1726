/**
 * DrBucket: the independent copy that survives the loss of a provider or region. A SecureBucket with
 * Object Lock (exports cannot be deleted or overwritten during retention) and the plan's lifecycle:
 * exports go cold after N days and expire after the retention; noncurrent versions expire; incomplete
 * multipart uploads (a failed export) are aborted after a day.
 */
import { Construct } from "constructs";
import { SecureBucket } from "../secure-bucket";

export interface DrBucketProps {
  readonly bucketName: string;
  /** A region independent of both compute regions. */
  readonly region: string;
  /** Key prefix of the weekly exports, ending in "/". */
  readonly exportPrefix: string;
  /** Exports are kept this long. Must cover at least 5 weekly copies (35 days). */
  readonly exportDays: number;
  /** Exports move to Glacier Instant Retrieval after this many days (restores stay immediate). */
  readonly coldAfterDays: number;
  /** Object Lock default retention, at most exportDays. */
  readonly objectLockDays: number;
  /** Noncurrent versions (overwritten replicated files, expired exports) are deleted after this. */
  readonly noncurrentVersionDays: number;
}

export class DrBucket extends Construct {
  readonly storage: SecureBucket;

  constructor(scope: Construct, id: string, props: DrBucketProps) {
    super(scope, id);
    const errors: string[] = [];
    if (props.exportDays < 35) errors.push(`exportDays (${props.exportDays}) must be at least 35 to keep five weekly exports`);
    if (props.objectLockDays > props.exportDays) errors.push(`objectLockDays (${props.objectLockDays}) must not exceed exportDays (${props.exportDays})`);
    if (!props.exportPrefix.endsWith("/")) errors.push(`exportPrefix "${props.exportPrefix}" must end with "/"`);
    if (errors.length) throw new Error(`${this.node.path}: ${errors.join("; ")}`);

    this.storage = new SecureBucket(this, "storage", {
      bucketName: props.bucketName,
      region: props.region,
      objectLockDays: props.objectLockDays,
    });
    this.storage
      .addLifecycleRule({
        id: "exports-cold-then-expire",
        prefix: props.exportPrefix,
        transitionTo: "GLACIER_IR",
        transitionAfterDays: props.coldAfterDays,
        expireAfterDays: props.exportDays,
      })
      .addLifecycleRule({ id: "noncurrent-versions-expire", prefix: "", noncurrentExpireAfterDays: props.noncurrentVersionDays })
      .addLifecycleRule({ id: "abort-incomplete-uploads", prefix: "", abortMultipartAfterDays: 1 });
  }

  get bucketName(): string {
    return this.storage.bucket.bucket;
  }
  get bucketArn(): string {
    return this.storage.bucket.arn;
  }
  get keyArn(): string {
    return this.storage.key.arn;
  }
}
