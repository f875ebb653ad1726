import { PolicyRule, ruleId } from "./rule";

interface Rule {
  id?: string;
  filter?: unknown[];
}

export const lifecycleFilter: PolicyRule = {
  id: ruleId(__filename),
  description: "Every lifecycle rule has an explicit filter (rules without one are deprecated by the AWS provider)",
  check(r) {
    if (r.type !== "aws_s3_bucket_lifecycle_configuration") return undefined;
    const bad = ((r.config.rule as Rule[] | undefined) ?? []).filter((rule) => !Array.isArray(rule.filter) || rule.filter.length === 0);
    return bad.length
      ? `lifecycle rule(s) ${bad.map((b) => `"${b.id ?? "?"}"`).join(", ")} have no filter; give each rule filter: [{ prefix: "" }] or a real prefix`
      : undefined;
  },
};
