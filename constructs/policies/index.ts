import type { TerraformStack } from "cdktf";
import type { Deployment } from "../config";
export function applyPolicies(_stack: TerraformStack, _d: Deployment): void {}
