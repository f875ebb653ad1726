import { PolicyRule, ruleId } from "./rule";

const fix = "set state.region in the configuration to a region other than regions.primary";

export const stateBucketRegion: PolicyRule = {
  id: ruleId(__filename),
  description: "Terraform state lives outside the primary compute region, so failover can read and write it",
  check(r, stack) {
    const { config } = stack.deployment;
    if (r.type !== "aws_s3_bucket" || r.config.bucket !== config.state.bucket) return undefined;
    return r.config.region === config.regions.primary ? `the state bucket is in the primary region ${config.regions.primary}; ${fix}` : undefined;
  },
  checkStack(stack) {
    const region = stack.backend?.region;
    const primary = stack.deployment.config.regions.primary;
    return region === primary ? `the stack keeps its state in the primary region ${primary}; ${fix}` : undefined;
  },
};
