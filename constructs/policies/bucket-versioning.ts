import { bucketCompanions, PolicyRule, ruleId } from "./rule";

export const bucketVersioning: PolicyRule = {
  id: ruleId(__filename),
  description: "Every S3 bucket keeps versions",
  check(r, stack) {
    if (r.type !== "aws_s3_bucket") return undefined;
    const enabled = bucketCompanions(r, "aws_s3_bucket_versioning", stack).some(
      (v) => (v.config.versioning_configuration as { status?: string } | undefined)?.status === "Enabled",
    );
    return enabled ? undefined : "bucket is not versioned; declare it with SecureBucket or add aws_s3_bucket_versioning with status Enabled";
  },
};
