import { bucketCompanions, PolicyRule, ruleId } from "./rule";

const FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

export const bucketPublicAccessBlock: PolicyRule = {
  id: ruleId(__filename),
  description: "Every S3 bucket blocks all public access",
  check(r, stack) {
    if (r.type !== "aws_s3_bucket") return undefined;
    const full = bucketCompanions(r, "aws_s3_bucket_public_access_block", stack).some((b) => FLAGS.every((f) => b.config[f] === true));
    return full ? undefined : `bucket does not block public access; declare it with SecureBucket or add aws_s3_bucket_public_access_block with ${FLAGS.join(", ")} all true`;
  },
};
