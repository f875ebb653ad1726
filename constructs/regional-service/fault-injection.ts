/**
 * What a Fargate task needs before AWS FIS can inject faults into it (the `aws:ecs:task` actions), per the
 * FIS User Guide, "Use the AWS FIS aws:ecs:task actions"
 * (https://docs.aws.amazon.com/fis/latest/userguide/ecs-task-actions.html), "Requirements":
 *
 * - `enableFaultInjection = true` on the task definition (the ECS fault injection endpoints the network
 *   actions use on Fargate, with their `useEcsFaultInjectionEndpoints` parameter);
 * - `pidMode = "task"` (required by the network latency, packet loss and blackhole actions; on Fargate it
 *   needs platform version 1.4.0 or later, which LATEST is);
 * - an SSM agent sidecar that registers the task as an SSM managed instance tagged with its task ARN, so
 *   FIS can map target tasks to managed instances and run its SSM documents there;
 * - a managed instance role (trusting SSM, with AmazonSSMManagedInstanceCore plus ssm:DeleteActivation and
 *   ssm:DeregisterManagedInstance), named in the sidecar's MANAGED_INSTANCE_ROLE_NAME;
 * - on the task role: ssm:CreateActivation, ssm:AddTagsToResource and iam:PassRole of that role.
 *
 * Declared only with `-c chaos=on`, so normal deploys run the task definition without any of it.
 */
import type { Construct } from "constructs";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { serviceRole, type PolicyStatement } from "../iam";

export interface FaultInjectionProps {
  /** The SSM agent image of the sidecar (config chaos.ssmAgentImage). */
  readonly ssmAgentImage: string;
}

/** Name of the sidecar container. */
export const SSM_AGENT_CONTAINER = "fis-ssm-agent";

/** The managed policy AWS requires on the managed instance role. */
const SSM_MANAGED_INSTANCE_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/**
 * The sidecar's program: register this task as an SSM managed instance tagged ECS_TASK_ARN (how FIS finds
 * it), run the agent, and on SIGTERM (task stopping) delete the activation and deregister the instance.
 * Shell variables are written $NAME, never with braces: Terraform would read a dollar-brace as a reference.
 */
const SIDECAR_SCRIPT = [
  "set -e",
  "dnf install -y jq procps awscli >/dev/null",
  'test -n "$MANAGED_INSTANCE_ROLE_NAME" || { echo "MANAGED_INSTANCE_ROLE_NAME is not set" >&2; exit 1; }',
  'test -n "$ECS_CONTAINER_METADATA_URI_V4" || { echo "no ECS task metadata endpoint" >&2; exit 1; }',
  'if ps ax | grep -v grep | grep -q amazon-ssm-agent; then echo "an SSM agent already runs in this task (ECS Exec must be off)" >&2; exit 1; fi',
  'META=$(curl -fsS "$ECS_CONTAINER_METADATA_URI_V4/task")',
  "TASK_ARN=$(echo \"$META\" | jq -er .TaskARN)",
  "AZ=$(echo \"$META\" | jq -er .AvailabilityZone)",
  "REGION=$(echo \"$AZ\" | sed 's/.$//')",
  'ACTIVATION=$(aws ssm create-activation --region "$REGION" --iam-role "$MANAGED_INSTANCE_ROLE_NAME" --tags Key=ECS_TASK_AVAILABILITY_ZONE,Value="$AZ" Key=ECS_TASK_ARN,Value="$TASK_ARN" Key=FAULT_INJECTION_SIDECAR,Value=true)',
  "ACTIVATION_ID=$(echo \"$ACTIVATION\" | jq -er .ActivationId)",
  "ACTIVATION_CODE=$(echo \"$ACTIVATION\" | jq -er .ActivationCode)",
  'cleanup() { aws ssm delete-activation --region "$REGION" --activation-id "$ACTIVATION_ID" || true; aws ssm deregister-managed-instance --region "$REGION" --instance-id "$(jq -er .ManagedInstanceID /var/lib/amazon/ssm/registration)" || true; kill -TERM "$AGENT" 2>/dev/null || true; }',
  "trap cleanup TERM INT",
  'amazon-ssm-agent -register -code "$ACTIVATION_CODE" -id "$ACTIVATION_ID" -region "$REGION"',
  "amazon-ssm-agent &",
  "AGENT=$!",
  'wait "$AGENT"',
].join("\n");

export interface FaultInjectionReadiness {
  /** Task definition arguments. */
  readonly taskDefinition: { readonly enableFaultInjection: true; readonly pidMode: "task" };
  /** Statements the task role needs. */
  readonly taskRoleStatements: readonly PolicyStatement[];
  /** The sidecar container definition (non-essential: the app runs whether or not it registers). */
  container(log: { group: string; region: string }): Record<string, unknown>;
  readonly managedInstanceRole: IamRole;
}

export function faultInjectionReadiness(scope: Construct, name: string, props: FaultInjectionProps): FaultInjectionReadiness {
  const managedInstanceRole = serviceRole(scope, "fis-managed-instance-role", {
    name: `${name}-fis-instance`,
    service: "ssm.amazonaws.com",
    statements: [{ Sid: "CleanUpOwnRegistration", Action: ["ssm:DeleteActivation", "ssm:DeregisterManagedInstance"], Resource: "*" }],
    managedPolicyArns: [SSM_MANAGED_INSTANCE_CORE],
  });
  return {
    taskDefinition: { enableFaultInjection: true, pidMode: "task" },
    taskRoleStatements: [
      // CreateActivation and AddTagsToResource on a not-yet-existing activation/instance have no narrower resource.
      { Sid: "RegisterForFaultInjection", Action: ["ssm:CreateActivation", "ssm:AddTagsToResource"], Resource: "*" },
      { Sid: "PassManagedInstanceRole", Action: "iam:PassRole", Resource: managedInstanceRole.arn, Condition: { StringEquals: { "iam:PassedToService": "ssm.amazonaws.com" } } },
    ],
    container: (log) => ({
      name: SSM_AGENT_CONTAINER,
      image: props.ssmAgentImage,
      essential: false,
      cpu: 0,
      entryPoint: [],
      command: ["/bin/bash", "-c", SIDECAR_SCRIPT],
      environment: [{ name: "MANAGED_INSTANCE_ROLE_NAME", value: managedInstanceRole.name }],
      logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": log.group, "awslogs-region": log.region, "awslogs-stream-prefix": "fis-ssm-agent" } },
    }),
    managedInstanceRole,
  };
}
