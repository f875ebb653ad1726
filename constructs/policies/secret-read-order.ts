import { PolicyRule, ruleId } from "./rule";

export const secretReadOrder: PolicyRule = {
  id: ruleId(__filename),
  description:
    "On an empty account the stacks deploy in declaration order: no stack reads a secret that a later stack creates, and no stack depends on a later one",
  check: () => undefined,
  checkStack(stack) {
    const app = stack.app;
    if (!app) return undefined;
    const index = (name: string) => app.stacks.findIndex((s) => s.name === name);
    const me = app.stacks[index(stack.stackName)];
    if (!me) return undefined;
    const problems: string[] = [];
    for (const dep of me.dependsOn)
      if (index(dep) > index(me.name)) problems.push(`depends on stack ${dep}, declared after it; declare stacks in the order they first deploy`);
    for (const read of me.secretReads) {
      const creator = app.stacks.find((s) => s.createdSecrets.includes(read.secret));
      if (!creator || creator.name === me.name) continue;
      if (index(creator.name) > index(me.name))
        problems.push(
          `${read.path} reads secret "${read.secret}" at plan time, but stack ${creator.name} creates it and deploys later, so the first deployment cannot plan; create the secret in a stack declared before ${me.name}`,
        );
    }
    return problems.length ? problems.join("; ") : undefined;
  },
};
