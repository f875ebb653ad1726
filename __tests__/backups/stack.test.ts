/** The scheduled daily backup check as synthesized: schedule, read-only role, the check's inputs, paging. */
import { getReferencesInExpression } from "@cdktf/hcl2json";
import { Testing, TerraformStack } from "cdktf";
import { loadConfig, parseConfig } from "../../constructs/config";
import { BACKUP_CHECK_CONTAINER, BackupCheck } from "../../constructs/backup-check";
import { only, resources, synthPlan } from "../stacks/synth";

const config = loadConfig();
const { stacks } = synthPlan({ region: "primary" });
const tf = stacks["backup-check"];
const policyOf = (json: string) => JSON.parse(json) as { Statement: any[] };
const roleNamed = (suffix: string) => resources(tf, "aws_iam_role").find((r) => r.name.endsWith(suffix));

describe("daily backup check stack", () => {
  it("runs drp backups check daily in the storage region as a Fargate task of the export image", () => {
    const schedule = only(tf, "aws_scheduler_schedule");
    expect(schedule).toMatchObject({ region: config.regions.storage, schedule_expression: config.assurance.schedule, schedule_expression_timezone: "UTC" });
    expect(schedule.target.ecs_parameters.launch_type).toBe("FARGATE");
    expect(schedule.target.dead_letter_config.arn).toMatch(/aws_sqs_queue\./);
    const task = only(tf, "aws_ecs_task_definition");
    // A valid Fargate pair: 256 CPU units take 512-2048 MiB.
    expect([task.cpu, task.memory]).toEqual(["256", "512"]);
    const [c] = JSON.parse(task.container_definitions);
    expect(c).toMatchObject({ name: BACKUP_CHECK_CONTAINER, image: config.export.image, command: ["backups", "check", "--json"] });
    expect(c.secrets).toEqual([{ name: "SUPABASE_ACCESS_TOKEN", valueFrom: expect.stringMatching(/^\$\{aws_secretsmanager_secret\.daily-check_supabase-token_[\w-]+\.arn\}$/) }]);
  });

  it("hands the task the whole validated configuration, which parses back to the same plan", () => {
    const [c] = JSON.parse(only(tf, "aws_ecs_task_definition").container_definitions);
    const env = Object.fromEntries(c.environment.map((x: { name: string; value: string }) => [x.name, x.value]));
    expect(parseConfig(JSON.parse(env.DRP_CONFIG_JSON))).toEqual(config);
    expect(env.DRP_EXPORT_BUCKET).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-storage\..*bucket\}$/);
  });

  it("keeps a literal ${ or %{ in the configuration literal for Terraform (HashiCorp's HCL parser reads no reference)", async () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "t");
    new BackupCheck(stack, "c", {
      name: "p",
      region: "us-west-2",
      image: config.export.image,
      schedule: "rate(1 day)",
      bucketName: "b-dr",
      bucketArn: "arn:aws:s3:::b-dr",
      bucketKeyArn: "arn:aws:kms:us-west-2:123456789012:key/k",
      readPrefixes: ["exports/"],
      filesBucket: "files",
      configJson: "note ${oops} 50%{ x",
      supabaseTokenSecretName: "s",
      alarmTopicArn: "arn:aws:sns:us-west-2:123456789012:alerts",
    });
    const [c] = JSON.parse(only(JSON.parse(Testing.synth(stack)), "aws_ecs_task_definition").container_definitions);
    const value = c.environment.find((x: { name: string }) => x.name === "DRP_CONFIG_JSON").value as string;
    expect(await getReferencesInExpression("main.tf.json", JSON.stringify(value))).toEqual([]);
    // The control: unescaped, Terraform would read a reference.
    expect(await getReferencesInExpression("main.tf.json", JSON.stringify("note ${oops}"))).toHaveLength(1);
  });

  it("gives the task a read-only role: no write, delete, lock or bypass action anywhere", () => {
    const statements = policyOf(roleNamed("-backup-check-task").inline_policy[0].policy).Statement;
    const actions = statements.flatMap((st) => [st.Action].flat()) as string[];
    expect(actions.filter((a) => /Put|Delete|Bypass|Replicate|Abort|Restore|Create|Update/.test(a))).toEqual([]);
    const list = statements.find((st) => st.Sid === "ListBackups");
    expect(list.Condition.StringLike["s3:prefix"]).toEqual([`${config.export.prefix}*`, "code/*"]);
    expect(statements.find((st) => st.Sid === "ReadBackups").Resource).toEqual([expect.stringMatching(/\/exports\/\*$/), expect.stringMatching(/\/code\/\*$/)]);
    expect(statements.find((st) => st.Sid === "ReadFilesReplication").Resource).toBe(`arn:aws:s3:::${config.files.bucket}`);
  });

  it("pages when a promise is broken (task exits non-zero) and when the schedule cannot start it", () => {
    const rule = only(tf, "aws_cloudwatch_event_rule");
    const pattern = JSON.parse(rule.event_pattern);
    expect(pattern.detail).toMatchObject({
      lastStatus: ["STOPPED"],
      $or: [{ containers: { name: [BACKUP_CHECK_CONTAINER], exitCode: [{ "anything-but": 0 }] } }, { stopCode: ["TaskFailedToStart"] }],
    });
    const target = only(tf, "aws_cloudwatch_event_target");
    const alarm = only(tf, "aws_cloudwatch_metric_alarm");
    expect(alarm.metric_name).toBe("ApproximateNumberOfMessagesVisible");
    // The same topic every other alarm in this region pages through.
    expect(target.arn).toBe(alarm.alarm_actions[0]);
    expect(stacks.export.resource?.aws_cloudwatch_event_target && Object.values(stacks.export.resource.aws_cloudwatch_event_target)[0].arn).toBe(target.arn);
  });

  it("declares the Supabase token's secret beside the check, in its account, as the export's database URL", () => {
    const names = resources(stacks["backup-check"], "aws_secretsmanager_secret").map((s) => s.name);
    expect(names).toEqual([config.assurance.supabaseTokenSecretName]);
    expect(resources(stacks.secrets, "aws_secretsmanager_secret").map((s) => s.name)).not.toContain(config.assurance.supabaseTokenSecretName);
  });
});
