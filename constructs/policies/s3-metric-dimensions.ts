import { PolicyRule, ruleId } from "./rule";

const BUCKET_DIMENSIONS = ["BucketName", "SourceBucket", "DestinationBucket"];

export const s3MetricDimensions: PolicyRule = {
  id: ruleId(__filename),
  description: "Alarms on S3 metrics name buckets by name, as S3 publishes them (an ARN matches no metric)",
  check(r) {
    if (r.type !== "aws_cloudwatch_metric_alarm" || r.config.namespace !== "AWS/S3") return undefined;
    const dims = (r.config.dimensions ?? {}) as Record<string, unknown>;
    const bad = BUCKET_DIMENSIONS.filter((d) => {
      const v = dims[d];
      return typeof v === "string" && (v.startsWith("arn:") || /^\$\{aws_s3_bucket\.[\w-]+\.arn\}$/.test(v));
    });
    return bad.length
      ? `dimension(s) ${bad.join(", ")} hold a bucket ARN; S3 publishes its metrics by bucket name, so the alarm would never see data: use the name (aws_s3_bucket .bucket)`
      : undefined;
  },
};
