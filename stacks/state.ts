/** The Terraform state bucket: versioned, encrypted, outside the primary region. */
import { Construct } from "constructs";
import type { Deployment } from "../constructs/config";
import { SecureBucket } from "../constructs/secure-bucket";
import { DrpStack } from "./drp-stack";

export class StateStack extends DrpStack {
  readonly bucket: SecureBucket;

  constructor(scope: Construct, deployment: Deployment) {
    const { state } = deployment.config;
    super(scope, "state", { deployment, homeRegion: state.region });
    this.bucket = new SecureBucket(this, "state-bucket", { bucketName: state.bucket, region: state.region }).addLifecycleRule({
      id: "old-state-versions",
      prefix: "",
      noncurrentExpireAfterDays: 90,
      abortMultipartAfterDays: 1,
    });
  }
}
