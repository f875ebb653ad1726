/**
 * The one way this project declares an IAM role: a trust for one AWS service, one inline policy, and
 * (only where AWS documents one as a requirement) AWS managed policies attached.
 */
import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { validName } from "./names";

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect?: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface ServiceRoleProps {
  /** Role name (IAM is global: include the region where the same role exists per region). */
  readonly name: string;
  /** Service principal allowed to assume the role, such as ecs-tasks.amazonaws.com. */
  readonly service: string;
  /** The role's only permissions; an empty list makes a role with no permissions. */
  readonly statements: readonly PolicyStatement[];
  /** Conditions on the trust (confused-deputy protection: aws:SourceAccount, aws:SourceArn). @default none */
  readonly trustCondition?: PolicyStatement["Condition"];
  /** AWS managed policies (ARNs) to attach, where a service's documentation requires one. @default none */
  readonly managedPolicyArns?: readonly string[];
}

export function serviceRole(scope: Construct, id: string, props: ServiceRoleProps): IamRole {
  const role = new IamRole(scope, id, {
    name: validName(scope, "iamRole", props.name, "name (made from the configuration's project)"),
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: props.service }, Action: "sts:AssumeRole", ...(props.trustCondition ? { Condition: props.trustCondition } : {}) }],
    }),
    inlinePolicy: props.statements.length
      ? [
          {
            name: "least-privilege",
            policy: JSON.stringify({ Version: "2012-10-17", Statement: props.statements.map((s) => ({ Effect: "Allow", ...s })) }),
          },
        ]
      : undefined,
  });
  for (const [i, policyArn] of (props.managedPolicyArns ?? []).entries()) new IamRolePolicyAttachment(scope, `${id}-managed-${i}`, { role: role.name, policyArn });
  return role;
}
