/**
 * What Terraform and the pinned providers would accept, offline: every stack the app declares, in every
 * mode the context allows (each value of each context key) and with an example configuration that takes
 * every optional branch, goes through the HCL parser and the providers' schemas (harness/terraform-validate).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONTEXT_KEYS, loadConfig, parseConfig } from "../../constructs/config";
import { formatProblem, validateStack, type Problem } from "../harness/terraform-validate";
import { loadSchema } from "../harness/terraform-schema";
import { synthPlan, type Tf } from "./synth";

const EVERY_OPTION = join(__dirname, "..", "fixtures", "configs", "every-option.json");

/** One mode per value of each context key (placeholders such as sha256:<...> are not values). */
function modes(): { name: string; context: Record<string, string>; config?: string }[] {
  const out: { name: string; context: Record<string, string>; config?: string }[] = [{ name: "default (region=primary)", context: {} }];
  for (const [key, values] of Object.entries(CONTEXT_KEYS))
    for (const value of values as readonly string[]) if (!value.includes("<") && !(key === "region" && value === "primary")) out.push({ name: `${key}=${value}`, context: { [key]: value } });
  out.push({ name: "image override", context: { image: `sha256:${"c".repeat(64)}` } });
  out.push({ name: "every optional config branch", context: {}, config: EVERY_OPTION });
  out.push({ name: "every optional config branch, region=secondary", context: { region: "secondary" }, config: EVERY_OPTION });
  out.push({ name: "every optional config branch, chaos=on", context: { chaos: "on" }, config: EVERY_OPTION });
  return out;
}

beforeAll(() => loadSchema(), 120_000);

/** Many stacks are identical across modes (state, secrets, ...): validate each distinct JSON once. */
const validated = new Map<string, Promise<Problem[]>>();
function validateOnce(name: string, tf: Tf): Promise<Problem[]> {
  const key = `${name}\0${JSON.stringify(tf)}`;
  if (!validated.has(key)) validated.set(key, validateStack(name, tf as Record<string, unknown>));
  return validated.get(key)!;
}

describe("offline terraform validate", () => {
  it.each(modes().map((m) => [m.name, m] as const))("finds no problem in any stack: %s", async (_name, mode) => {
    const config = mode.config ? parseConfig(JSON.parse(readFileSync(mode.config, "utf8")), mode.config) : loadConfig();
    const { stacks } = synthPlan(mode.context, config);
    expect(Object.keys(stacks).length).toBeGreaterThan(0);
    const problems: Problem[] = [];
    for (const [name, tf] of Object.entries(stacks)) problems.push(...(await validateOnce(name, tf)));
    expect(problems.map(formatProblem)).toEqual([]);
  });

  it("covers the example config's optional branches (the DR account role is used)", () => {
    const config = parseConfig(JSON.parse(readFileSync(EVERY_OPTION, "utf8")));
    expect(config.drAccount).toBeDefined();
    const { stacks } = synthPlan({}, config);
    const roles = Object.values(stacks).flatMap((tf) => (tf.provider?.aws ?? []).flatMap((p: { assume_role?: { role_arn: string }[] }) => p.assume_role ?? []));
    expect(roles.map((r) => r.role_arn)).toContain(config.drAccount!.assumeRoleArn);
  });
});

describe("the validator catches each kind of defect", () => {
  let synthesized: string | undefined;
  const base = () => JSON.parse((synthesized ??= JSON.stringify(synthPlan({}).stacks))) as Record<string, Tf & Record<string, any>>;
  const firstOf = (tf: Tf, type: string) => {
    const [name, block] = Object.entries(tf.resource![type])[0];
    return { address: `${type}.${name}`, block };
  };
  const run = async (stack: string, tf: Tf) => (await validateStack(stack, tf as Record<string, unknown>)).map(formatProblem);

  it("a literal ${ that is no reference (an unescaped JavaScript template literal)", async () => {
    const tf = base().edge;
    const { address, block } = firstOf(tf, "cloudflare_workers_script");
    block.content = "export default { fetch() { return new Response(`${raw}`); } };";
    expect(await run("edge", tf)).toEqual([
      `edge: ${address} content: invalid reference "raw": not a resource, data source, variable or local (escape a literal "\${" as "$\${")`,
    ]);
  });

  it("a %{ that is no template directive (CSS keyframes)", async () => {
    const tf = base().edge;
    const { address, block } = firstOf(tf, "cloudflare_workers_script");
    block.content = "@keyframes p{0%{opacity:1}50%{opacity:.35}}";
    const [problem, ...rest] = await run("edge", tf);
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^edge: ${address.replace(/\./g, "\\.")} content: not a valid Terraform template: Invalid template control keyword`));
  });

  it("a reference to a resource the stack does not declare, and an attribute its type does not export", async () => {
    const tf = base().monitoring;
    const { address, block } = firstOf(tf, "aws_cloudwatch_metric_alarm");
    block.alarm_actions = ["${aws_sns_topic.nowhere.arn}"];
    const topic = Object.keys(tf.resource!.aws_sns_topic)[0];
    block.ok_actions = [`\${aws_sns_topic.${topic}.arnn}`];
    expect(await run("monitoring", tf)).toEqual([
      `monitoring: ${address} alarm_actions[0]: reference to undeclared resource aws_sns_topic.nowhere ("aws_sns_topic.nowhere.arn"; escape a literal "\${" as "$\${")`,
      `monitoring: ${address} ok_actions[0]: aws_sns_topic.${topic}: type does not export attribute "arnn"`,
    ]);
  });

  it("an unknown argument at depth, a missing required argument, a block given as a value and a value given as a block", async () => {
    const tf = base().storage;
    const rep = firstOf(tf, "aws_s3_bucket_replication_configuration");
    rep.block.rule[0].destination.storage_clas = "STANDARD";
    delete rep.block.role;
    const alarm = firstOf(tf, "aws_cloudwatch_metric_alarm");
    alarm.block.threshold = { value: 1 };
    rep.block.rule[0].filter = "everything";
    expect((await run("storage", tf)).sort()).toEqual(
      [
        `storage: ${rep.address} rule[0].destination.storage_clas: unsupported argument "storage_clas"`,
        `storage: ${rep.address} role: missing required argument "role"`,
        `storage: ${alarm.address} threshold: expects a single value, got an object (block)`,
        `storage: ${rep.address} rule[0].filter: expects a block (JSON object), got a value`,
      ].sort(),
    );
  });

  it("a value the provider does not accept, where its schema lists the values", async () => {
    const tf = base().edge;
    const { address, block } = firstOf(tf, "cloudflare_workers_script");
    block.bindings[0].type = "plaintext";
    const [problem, ...rest] = await run("edge", tf);
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^edge: ${address.replace(/\./g, "\\.")} bindings\\[0\\]\\.type: "plaintext" is not one of the values the provider accepts: .*plain_text`));
  });

  it("a resource type the pinned providers do not have", async () => {
    const tf = base().state;
    tf.resource!.aws_s3_bucket_acl_v9 = { x: { bucket: "b" } };
    expect(await run("state", tf)).toEqual([`state: aws_s3_bucket_acl_v9.x: resource type "aws_s3_bucket_acl_v9" is not in the pinned providers' schemas`]);
  });
});
