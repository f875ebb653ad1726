/** Generated names and sizes fail at synth or config load, naming the field and the limit; nothing is cut to fit. */
import { ConfigError, loadConfig, parseConfig } from "../../constructs/config";
import { fargateSizeProblem } from "../../constructs/fargate";
import { nameProblem } from "../../constructs/names";
import { synthPlan } from "../stacks/synth";

const base = loadConfig();

describe("generated names", () => {
  it("refuse a project name that makes the load balancer name too long, instead of cutting it", () => {
    const project = "a-thirty-one-character-project1";
    expect(project).toHaveLength(31);
    const config = parseConfig({ ...JSON.parse(JSON.stringify(base)), project });
    expect(() => synthPlan({}, config)).toThrow(
      `compute-primary/app: load balancer name "${project}-primary-alb" is 43 characters, over AWS's limit of 32; shorten name (made from the configuration's project) by 11`,
    );
  });

  it("accept the configured project", () => {
    expect(() => synthPlan({})).not.toThrow();
  });

  it("know each service's character rules", () => {
    expect(nameProblem("redisReplicationGroup", "app--queues", "name")).toMatch(/no two hyphens in a row/);
    expect(nameProblem("redisReplicationGroup", "1app-queues", "name")).toMatch(/starting with a letter/);
    expect(nameProblem("targetGroup", "-app", "name")).toMatch(/not starting or ending with a hyphen/);
    expect(nameProblem("targetGroup", "x".repeat(32), "name")).toBeUndefined();
  });
});

describe("Fargate sizes", () => {
  it.each([
    [256, 512, true],
    [256, 2048, true],
    [256, 3072, false],
    [512, 1024, true],
    [1024, 1024, false],
    [1024, 2048, true],
    [1024, 8192, true],
    [2048, 16384, true],
    [4096, 30720, true],
    [4096, 31744, false],
    [1024, 2560, false],
  ])("cpu %i with %i MiB: valid %s", (cpu, mem, valid) => {
    expect(fargateSizeProblem(cpu, mem) === undefined).toBe(valid);
  });

  it("are checked when the configuration loads, naming the field and what Fargate allows", () => {
    const raw = JSON.parse(JSON.stringify(base));
    raw.app.cpu = 1024;
    raw.app.memoryMiB = 1024;
    expect(() => parseConfig(raw, "drp.config.json")).toThrow(ConfigError);
    expect(() => parseConfig(raw, "drp.config.json")).toThrow(
      "invalid configuration in drp.config.json:\n  app.memoryMiB: memory 1024 MiB is not valid with cpu 1024 on Fargate; with cpu 1024 use 2048-8192 MiB in steps of 1024",
    );
  });
});
