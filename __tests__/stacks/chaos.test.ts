/** The chaos stack (-c chaos=on): what it declares, what it changes elsewhere, and what normal deploys keep out. */
import { spawnSync } from "node:child_process";
import { chaosSettings, loadConfig } from "../../constructs/config";
import { FIS_ACTIONS, FIS_MAX_DURATION_MINUTES, durationMinutes, isFisAction } from "../../constructs/chaos-experiments/fis-actions";
import { experimentLogGroupName, SCENARIO_TAG_KEY, SCENARIOS, templateOutputName } from "../../constructs/chaos-experiments/scenarios";
import { SSM_AGENT_CONTAINER } from "../../constructs/regional-service";
import { fargateSizeProblem } from "../../constructs/fargate";
import { forSnapshot, only, resources, synthPlan, type Tf } from "./synth";

const config = loadConfig();
const chaos = chaosSettings(config);
const normal = synthPlan({});
const on = synthPlan({ chaos: "on" });
const stack = on.stacks.chaos as Tf & { output?: Record<string, { value: string }> };
const templates = resources(stack, "aws_fis_experiment_template");
const byScenario = (scenario: string) => templates.find((t) => t.tags[SCENARIO_TAG_KEY] === scenario);
/** The template's actions after its steady-state assertion. */
const faults = (t: { action: { action_id: string }[] }) => t.action.filter((a) => a.action_id !== "aws:cloudwatch:assert-alarm-state") as any[];
const params = (action: { parameter?: { key: string; value: string }[] }) => Object.fromEntries((action.parameter ?? []).map((p) => [p.key, p.value]));
const roleOf = (template: { role_arn: string }) => {
  const id = /^\$\{aws_iam_role\.([\w-]+)\.arn\}$/.exec(template.role_arn)![1];
  return stack.resource!.aws_iam_role[id];
};
const statementsOf = (role: { inline_policy: { policy: string }[] }) => JSON.parse(role.inline_policy[0].policy).Statement as { Sid: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }[];
const taskDefinition = (tf: Tf) => only(tf, "aws_ecs_task_definition");
const containers = (tf: Tf) => JSON.parse(taskDefinition(tf).container_definitions) as { name: string; essential: boolean; image: string; environment?: { name: string; value: string }[]; command?: string[] }[];

describe("normal deploys keep chaos out", () => {
  it("declare no chaos stack and no FIS template without -c chaos=on", () => {
    expect(Object.keys(normal.stacks)).not.toContain("chaos");
    for (const tf of Object.values(normal.stacks)) expect(resources(tf, "aws_fis_experiment_template")).toEqual([]);
  });

  it("declare it last with chaos=on, after every stack of the first deployment, reading compute-primary and monitoring", () => {
    expect(Object.keys(on.stacks)).toEqual([...Object.keys(normal.stacks), "chaos"]);
    expect(on.objects.chaos.dependencies.map((d) => d.node.id).sort()).toEqual(["compute-primary", "monitoring"]);
  });

  it("leave every other stack as it is, except the primary task definition and its roles, and the outputs chaos reads", () => {
    const withoutOutputs = (tf: Tf) => ({ ...tf, output: undefined });
    for (const name of Object.keys(normal.stacks)) {
      const added = Object.keys((on.stacks[name] as { output?: object }).output ?? {}).filter((k) => !Object.keys((normal.stacks[name] as { output?: object }).output ?? {}).includes(k));
      expect({ name, added: added.every((k) => k.startsWith("cross-stack-output-")) }).toEqual({ name, added: true });
      if (added.length) expect(["monitoring", "compute-primary"]).toContain(name);
      if (name !== "compute-primary") expect({ name, tf: withoutOutputs(on.stacks[name]) }).toEqual({ name, tf: withoutOutputs(normal.stacks[name]) });
    }
    const before = normal.stacks["compute-primary"].resource!;
    const after = on.stacks["compute-primary"].resource!;
    const changed = Object.keys(after).filter((type) => JSON.stringify(after[type]) !== JSON.stringify(before[type]));
    expect(changed.sort()).toEqual(["aws_ecs_task_definition", "aws_iam_role", "aws_iam_role_policy_attachment"]);
  });
});

describe("fault injection readiness of the primary tasks (chaos=on only)", () => {
  const ready = on.stacks["compute-primary"];

  it("enables the ECS fault injection endpoints and the task pid namespace the network actions need on Fargate", () => {
    expect(taskDefinition(ready)).toMatchObject({ enable_fault_injection: true, pid_mode: "task", requires_compatibilities: ["FARGATE"], network_mode: "awsvpc" });
    expect(taskDefinition(normal.stacks["compute-primary"])).not.toHaveProperty("enable_fault_injection");
    expect(taskDefinition(normal.stacks["compute-primary"])).not.toHaveProperty("pid_mode");
    expect(taskDefinition(on.stacks["compute-secondary"])).not.toHaveProperty("enable_fault_injection");
  });

  it("adds a non-essential SSM agent sidecar that registers the task for FIS under the managed instance role", () => {
    const [app, sidecar, ...rest] = containers(ready);
    expect(rest).toEqual([]);
    expect(app).toMatchObject({ name: "app", essential: true });
    expect(sidecar).toMatchObject({ name: SSM_AGENT_CONTAINER, essential: false, image: chaos.ssmAgentImage });
    const roleName = sidecar.environment!.find((e) => e.name === "MANAGED_INSTANCE_ROLE_NAME")!.value;
    const instanceRole = resources(ready, "aws_iam_role").find((r) => `\${aws_iam_role.${Object.keys(ready.resource!.aws_iam_role).find((k) => ready.resource!.aws_iam_role[k] === r)}.name}` === roleName);
    expect(instanceRole.name).toBe("livestreamsell-primary-fis-instance");
    expect(JSON.parse(instanceRole.assume_role_policy).Statement[0].Principal).toEqual({ Service: "ssm.amazonaws.com" });
    expect(statementsOf(instanceRole).flatMap((s) => s.Action)).toEqual(["ssm:DeleteActivation", "ssm:DeregisterManagedInstance"]);
    expect(only(ready, "aws_iam_role_policy_attachment").policy_arn).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
    const script = sidecar.command!.join(" ");
    expect(script).toContain("Key=ECS_TASK_ARN,Value=");
    expect(script).toContain("Key=FAULT_INJECTION_SIDECAR,Value=true");
    expect(script).toContain("trap cleanup TERM INT");
    // bash itself parses the sidecar's program (as the container will run it: bash -c <script>).
    const parsed = spawnSync("bash", ["-n", "-c", sidecar.command![2]], { encoding: "utf8" });
    expect({ status: parsed.status, stderr: parsed.stderr }).toEqual({ status: 0, stderr: "" });
    expect(sidecar.command!.slice(0, 2)).toEqual(["/bin/bash", "-c"]);
  });

  it("lets the task role register the task and pass only the managed instance role, only to SSM", () => {
    const taskRole = resources(ready, "aws_iam_role").find((r) => r.name === "livestreamsell-primary-task");
    const statements = statementsOf(taskRole);
    expect(statements.flatMap((s) => s.Action)).toEqual(["ssm:CreateActivation", "ssm:AddTagsToResource", "iam:PassRole"]);
    expect(statements[1]).toMatchObject({ Resource: expect.stringMatching(/^\$\{aws_iam_role\.app_fis-managed-instance-role_\w+\.arn\}$/), Condition: { StringEquals: { "iam:PassedToService": "ssm.amazonaws.com" } } });
    expect(resources(normal.stacks["compute-primary"], "aws_iam_role").find((r) => r.name === "livestreamsell-primary-task").inline_policy).toBeUndefined();
  });

  it("keeps the task size one Fargate accepts (the sidecar takes no reserved CPU)", () => {
    const td = taskDefinition(ready);
    expect(fargateSizeProblem(Number(td.cpu), Number(td.memory))).toBeUndefined();
    expect(containers(ready).find((c) => c.name === SSM_AGENT_CONTAINER)).toMatchObject({ cpu: 0 });
  });
});

describe("experiment templates", () => {
  it("exist once per scenario in the primary region, tagged with the scenario and exported by the name the runner reads", () => {
    expect(templates.map((t) => t.tags[SCENARIO_TAG_KEY]).sort()).toEqual([...SCENARIOS].sort());
    for (const t of templates) expect(t.region).toBe(config.regions.primary);
    for (const s of SCENARIOS) {
      const id = Object.entries(stack.resource!.aws_fis_experiment_template).find(([, t]) => t.tags[SCENARIO_TAG_KEY] === s)![0];
      expect(stack.output![templateOutputName(s)].value).toBe(`\${aws_fis_experiment_template.${id}.id}`);
    }
  });

  it("stop on the public health alarm and on the service's own 5xx and p95 latency alarms", () => {
    const alarms = resources(stack, "aws_cloudwatch_metric_alarm");
    expect(alarms.map((a) => [a.metric_name, a.region, a.dimensions.LoadBalancer !== undefined && a.dimensions.TargetGroup !== undefined])).toEqual([
      ["TargetResponseTime", config.regions.primary, true],
      ["HTTPCode_Target_5XX_Count", config.regions.primary, true],
    ]);
    expect(alarms.map((a) => a.threshold).sort()).toEqual([chaos.maxResponseSeconds, chaos.max5xxPerMinute].sort());
    for (const t of templates) {
      expect(t.stop_condition.map((s: { source: string }) => s.source)).toEqual(["aws:cloudwatch:alarm", "aws:cloudwatch:alarm", "aws:cloudwatch:alarm"]);
      expect(t.stop_condition[0].value).toMatch(/cross-stack-reference-input-monitoring\.outputs\.cross-stack-output-aws_cloudwatch_metric_alarmhealth_alarm_\w+arn/);
    }
  });

  it("bound every fault by the configured duration, within FIS's limits, with only parameters FIS documents", () => {
    for (const t of templates)
      for (const a of t.action) {
        expect(isFisAction(a.action_id)).toBe(true);
        const spec = FIS_ACTIONS[a.action_id as keyof typeof FIS_ACTIONS];
        const p = params(a);
        for (const key of Object.keys(p)) expect({ action: a.action_id, key, documented: spec.parameters.includes(key) }).toEqual({ action: a.action_id, key, documented: true });
        if (spec.timed) {
          expect(p.duration).toBe(`PT${chaos.durationMinutes}M`);
          expect(durationMinutes(p.duration)).toBeLessThanOrEqual(FIS_MAX_DURATION_MINUTES);
        }
      }
  });

  it("stay within the provider's limits: descriptions up to 512 characters, names and keys up to 64, values up to 1024", () => {
    for (const t of templates) {
      expect(t.description.length).toBeLessThanOrEqual(512);
      for (const a of t.action) {
        expect(a.name.length).toBeLessThanOrEqual(64);
        for (const p of a.parameter ?? []) expect([p.key.length <= 64, p.value.length <= 1024]).toEqual([true, true]);
      }
      for (const target of t.target ?? []) expect(target.selection_mode).toMatch(/^(ALL|COUNT\(\d+\)|PERCENT\(\d+\))$/);
    }
  });

  it("first assert the steady state (every stop-condition alarm OK), and inject nothing before it holds", () => {
    for (const t of templates) {
      const [first, ...rest] = t.action;
      expect(first).toMatchObject({ name: "steady-state", action_id: "aws:cloudwatch:assert-alarm-state" });
      expect(first.start_after).toBeUndefined();
      expect(params(first)).toEqual({ alarmArns: t.stop_condition.map((c: { value: string }) => c.value).join(","), alarmStates: "OK" });
      for (const a of rest) expect(a.start_after?.length).toBeGreaterThan(0);
      expect(rest.filter((a: { start_after: string[] }) => a.start_after.includes("steady-state"))).toHaveLength(1);
    }
  });

  it("ai-latency: delays the primary service's tasks' traffic to the AI hosts by 30 s through the ECS fault injection endpoints", () => {
    const t = byScenario("ai-latency");
    const [delay, ...rest] = faults(t);
    expect(rest).toEqual([]);
    expect(delay.action_id).toBe("aws:ecs:task-network-latency");
    expect(params(delay)).toMatchObject({ delayMilliseconds: "30000", sources: "api.openai.com", useEcsFaultInjectionEndpoints: "true" });
    expect(t.target).toEqual([
      {
        name: delay.target.value,
        resource_type: "aws:ecs:task",
        selection_mode: "ALL",
        parameters: {
          cluster: expect.stringMatching(/cross-stack-reference-input-compute-primary\.outputs\.cross-stack-output-aws_ecs_clusterapp_cluster_\w+name/),
          service: expect.stringMatching(/cross-stack-reference-input-compute-primary\.outputs\.cross-stack-output-aws_ecs_serviceapp_service_\w+name/),
        },
      },
    ]);
    expect(delay.target.key).toBe("Tasks");
  });

  it("payment-down: drops every packet to Flow and PayPal, and nothing else", () => {
    const t = byScenario("payment-down");
    expect(faults(t).map((a) => a.action_id)).toEqual(["aws:ecs:task-network-packet-loss"]);
    expect(params(faults(t)[0])).toMatchObject({ lossPercent: "100", sources: "www.flow.cl,api-m.paypal.com", useEcsFaultInjectionEndpoints: "true" });
  });

  it("webhook-disconnect: stops a share of the tasks, then keeps the stop conditions watching while ECS replaces them", () => {
    const t = byScenario("webhook-disconnect");
    const [stop, observe] = faults(t);
    expect(stop.action_id).toBe("aws:ecs:stop-task");
    expect(t.target.find((x: { name: string }) => x.name === stop.target.value).selection_mode).toBe(`PERCENT(${chaos.stopTaskPercent})`);
    expect(observe).toMatchObject({ action_id: "aws:fis:wait", start_after: [stop.name] });
  });

  it("comment-spike: a guarded window without a fault, since FIS has no load action (the runner sends the spike)", () => {
    const t = byScenario("comment-spike");
    expect(faults(t).map((a) => a.action_id)).toEqual(["aws:fis:wait"]);
    expect(t.target).toBeUndefined();
  });

  it("fail an experiment that finds no task instead of passing it, and log it to CloudWatch Logs", () => {
    const log = only(stack, "aws_cloudwatch_log_group");
    expect(log).toMatchObject({ name: experimentLogGroupName(config.project), region: config.regions.primary, retention_in_days: config.retention.logDays });
    for (const t of templates) {
      expect(t.experiment_options).toEqual({ account_targeting: "single-account", empty_target_resolution_mode: "fail" });
      expect(t.log_configuration).toEqual({ log_schema_version: 2, cloudwatch_logs_configuration: { log_group_arn: expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.\w+\.arn\}:\*$/) } });
    }
  });
});

describe("experiment roles", () => {
  it("are one per template, trusting only FIS experiments of this account in the primary region", () => {
    const roles = templates.map(roleOf);
    expect(new Set(roles.map((r) => r.name)).size).toBe(SCENARIOS.length);
    for (const r of roles) {
      const [trust, ...rest] = JSON.parse(r.assume_role_policy).Statement;
      expect(rest).toEqual([]);
      expect(trust).toMatchObject({ Effect: "Allow", Principal: { Service: "fis.amazonaws.com" }, Action: "sts:AssumeRole" });
      expect(trust.Condition.StringEquals["aws:SourceAccount"]).toMatch(new RegExp(`^\\$\\{data\\.aws_caller_identity\\.experiments_account_\\w+\\.account_id\\}$`));
      expect(trust.Condition.ArnLike["aws:SourceArn"]).toMatch(new RegExp(`^arn:aws:fis:${config.regions.primary}:\\$\\{data\\.aws_caller_identity\\.[\\w]+\\.account_id\\}:experiment/\\*$`));
    }
  });

  it("grant exactly the permissions FIS documents for the template's actions, plus log delivery", () => {
    for (const t of templates) {
      const documented = new Set<string>(t.action.flatMap((a: { action_id: keyof typeof FIS_ACTIONS }) => [...FIS_ACTIONS[a.action_id].permissions]));
      const granted = new Set(statementsOf(roleOf(t)).filter((s) => s.Sid !== "DeliverExperimentLog").flatMap((s) => s.Action));
      expect({ scenario: t.tags[SCENARIO_TAG_KEY], granted: [...granted].sort() }).toEqual({ scenario: t.tags[SCENARIO_TAG_KEY], granted: [...documented].sort() });
    }
    expect(statementsOf(roleOf(byScenario("comment-spike"))).map((s) => [s.Sid, s.Action])).toEqual([
      ["DescribeAndTrack", ["cloudwatch:DescribeAlarms"]],
      ["DeliverExperimentLog", ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]],
    ]);
  });

  it("act on ECS only in the targeted cluster, and run only FIS's own documents on fault-injection sidecars", () => {
    const stop = statementsOf(roleOf(byScenario("webhook-disconnect")));
    expect(stop.find((s) => s.Sid === "TargetServiceTasks")).toMatchObject({
      Action: ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask"],
      Condition: { ArnEquals: { "ecs:cluster": expect.stringMatching(/cross-stack-output-aws_ecs_clusterapp_cluster_\w+arn/) } },
    });
    const latency = statementsOf(roleOf(byScenario("ai-latency")));
    expect(latency.find((s) => s.Sid === "RunFisDocuments")!.Resource).toEqual([`arn:aws:ssm:${config.regions.primary}::document/AWSFIS-Run-Network-Latency-ECS`]);
    expect(latency.find((s) => s.Sid === "OnFaultInjectionSidecars")).toMatchObject({
      Action: "ssm:SendCommand",
      Condition: { StringEquals: { "ssm:resourceTag/FAULT_INJECTION_SIDECAR": "true" } },
    });
    expect(statementsOf(roleOf(byScenario("payment-down"))).find((s) => s.Sid === "RunFisDocuments")!.Resource).toEqual([
      `arn:aws:ssm:${config.regions.primary}::document/AWSFIS-Run-Network-Packet-Loss-ECS`,
    ]);
  });
});

describe("chaos=on snapshots", () => {
  it.each(["chaos", "compute-primary"])("%s matches its reviewed snapshot", (name) => {
    expect(forSnapshot(on.stacks[name])).toMatchSnapshot();
  });
});
