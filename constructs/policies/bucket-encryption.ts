import { bucketCompanions, PolicyRule, ruleId } from "./rule";

export const bucketEncryption: PolicyRule = {
  id: ruleId(__filename),
  description: "Every S3 bucket has default server-side encryption with KMS",
  check(r, stack) {
    if (r.type !== "aws_s3_bucket") return undefined;
    const configs = bucketCompanions(r, "aws_s3_bucket_server_side_encryption_configuration", stack);
    const kms = configs.some((c) =>
      ((c.config.rule as { apply_server_side_encryption_by_default?: { sse_algorithm?: string } }[]) ?? []).some((rule) =>
        String(rule.apply_server_side_encryption_by_default?.sse_algorithm ?? "").startsWith("aws:kms"),
      ),
    );
    return kms ? undefined : "bucket has no SSE-KMS default encryption; declare it with SecureBucket or add aws_s3_bucket_server_side_encryption_configuration";
  },
};
