/** ChaosExperiments on its own: its input checks, and the FIS duration helpers the policy rule relies on. */
import { TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ChaosExperiments, type ChaosExperimentsProps } from "../../constructs/chaos-experiments";
import { durationMinutes, isoMinutes } from "../../constructs/chaos-experiments/fis-actions";
import { experimentLogGroupName, isScenario, SCENARIOS, templateOutputName } from "../../constructs/chaos-experiments/scenarios";

const props: ChaosExperimentsProps = {
  name: "shop",
  region: "sa-east-1",
  clusterName: "shop-primary",
  clusterArn: "arn:aws:ecs:sa-east-1:111122223333:cluster/shop-primary",
  serviceName: "shop-primary",
  loadBalancerArnSuffix: "app/shop-primary-alb/0123456789abcdef",
  targetGroupArnSuffix: "targetgroup/shop-primary-app/0123456789abcdef",
  aiHosts: ["api.openai.com"],
  paymentHosts: ["www.flow.cl", "api-m.paypal.com"],
  aiLatencyMs: 30000,
  durationMinutes: 5,
  stopTaskPercent: 50,
  max5xxPerMinute: 20,
  maxResponseSeconds: 3,
};

function build(over: Partial<ChaosExperimentsProps>) {
  const stack = new TerraformStack(Testing.app(), "t");
  new AwsProvider(stack, "aws", { region: "sa-east-1" });
  return () => new ChaosExperiments(stack, "chaos", { ...props, ...over });
}

describe("ChaosExperiments", () => {
  it("builds one template per scenario from valid props, stopping only on its own alarms when given no other", () => {
    const stack = new TerraformStack(Testing.app(), "t");
    new AwsProvider(stack, "aws", { region: "sa-east-1" });
    new ChaosExperiments(stack, "chaos", props);
    const tf = JSON.parse(Testing.synth(stack));
    const templates = Object.values(tf.resource.aws_fis_experiment_template) as { stop_condition: unknown[] }[];
    expect(templates).toHaveLength(SCENARIOS.length);
    for (const t of templates) expect(t.stop_condition).toHaveLength(2);
    expect(Object.keys(tf.output).sort()).toEqual(SCENARIOS.map(templateOutputName).sort());
  });

  it("refuses an unbounded or out-of-range experiment, naming every problem and the config field", () => {
    expect(build({ durationMinutes: 0, stopTaskPercent: 101, aiHosts: [] })).toThrow(
      "t/chaos: durationMinutes must be a whole number from 1 to 60 (config chaos.durationMinutes), got 0; stopTaskPercent must be a whole number from 1 to 100 (config chaos.stopTaskPercent), got 101; aiHosts must name at least one host (config chaos.aiHosts)",
    );
    expect(build({ durationMinutes: 61 })).toThrow("durationMinutes must be a whole number from 1 to 60");
  });

  it("refuses more alarms than one steady-state assertion can check", () => {
    expect(build({ stopAlarmArns: ["a", "b", "c", "d"] })).toThrow(
      "t/chaos: stopAlarmArns may name at most 3 alarms (with the two of its own, FIS checks up to 5 in one steady-state assertion)",
    );
  });

  it("refuses hosts that do not fit in one FIS parameter", () => {
    const long = Array.from({ length: 12 }, (_, i) => `${"a".repeat(80)}${i}.example.com`);
    expect(build({ paymentHosts: long })).toThrow("t/chaos: paymentHosts joined with commas must fit in 1024 characters, FIS's parameter limit (config chaos.paymentHosts)");
  });
});

describe("FIS durations", () => {
  it("are written as ISO 8601 minutes or hours", () => {
    expect([isoMinutes(5), isoMinutes(60), isoMinutes(90), isoMinutes(720)]).toEqual(["PT5M", "PT1H", "PT90M", "PT12H"]);
    expect(() => isoMinutes(0)).toThrow("a duration must be a whole number of minutes, at least 1; got 0");
  });

  it("are read back in minutes, and anything else is not a duration", () => {
    expect([durationMinutes("PT5M"), durationMinutes("PT1H30M"), durationMinutes("PT90S"), durationMinutes("PT12H")]).toEqual([5, 90, 1.5, 720]);
    for (const bad of ["5m", "PT", "P1D", "PT5M ", "", "pt5m"]) expect({ bad, minutes: durationMinutes(bad) }).toEqual({ bad, minutes: undefined });
  });
});

describe("scenarios", () => {
  it("are the plan's four, each with its output name", () => {
    expect([...SCENARIOS]).toEqual(["webhook-disconnect", "ai-latency", "payment-down", "comment-spike"]);
    expect(templateOutputName("ai-latency")).toBe("fis-template-ai-latency");
    expect(experimentLogGroupName("shop")).toBe("/fis/shop-chaos");
    expect([isScenario("payment-down"), isScenario("payments-down")]).toEqual([true, false]);
  });
});
