import { fargateSizeProblem } from "../fargate";
import { isReference, PolicyRule, ruleId } from "./rule";

export const fargateSize: PolicyRule = {
  id: ruleId(__filename),
  description: "Fargate task definitions use a cpu/memory pair Fargate accepts",
  check(r) {
    if (r.type !== "aws_ecs_task_definition" || !((r.config.requires_compatibilities as string[] | undefined) ?? []).includes("FARGATE")) return undefined;
    const { cpu, memory } = r.config;
    if (cpu === undefined || memory === undefined) return "a Fargate task definition needs task-level cpu and memory";
    if (isReference(cpu) || isReference(memory)) return undefined;
    const problem = fargateSizeProblem(Number(cpu), Number(memory));
    return problem ? `${problem}; ECS would refuse to register it` : undefined;
  },
};
