/** Each policy rule in a pair: a stack that complies and a stack that breaks it. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { App, S3Backend, TerraformStack, Testing } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { FisExperimentTemplate, type FisExperimentTemplateConfig } from "@cdktf/provider-aws/lib/fis-experiment-template";
import { WorkersScript } from "@cdktf/provider-cloudflare/lib/workers-script";
import { CloudflareProvider } from "@cdktf/provider-cloudflare/lib/provider";
import { loadConfig, parseContext, resolveDeployment } from "../../constructs/config";
import { applyPolicies, evaluate, evaluateStack, formatSuppressed, RULES, stackView, suppressPolicy, type Violation } from "../../constructs/policies";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { ElasticacheReplicationGroup } from "@cdktf/provider-aws/lib/elasticache-replication-group";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { DataAwsSecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/data-aws-secretsmanager-secret-version";
import { SecureBucket } from "../../constructs/secure-bucket";
import { HealthAlarm, DETECTION_TAG } from "../../constructs/health-alarm";
import { defineStacks } from "../../stacks";

const deployment = resolveDeployment(loadConfig(), parseContext({}));
const { primary, storage } = deployment.config.regions;

function check(build: (stack: TerraformStack) => void, backendRegion = storage): Violation[] {
  const app = Testing.app();
  const stack = new TerraformStack(app, "policy-test");
  new AwsProvider(stack, "aws", { region: storage });
  new CloudflareProvider(stack, "cloudflare", {});
  new S3Backend(stack, { bucket: "state", key: "k", region: backendRegion });
  build(stack);
  return evaluate(stackView(stack, deployment));
}
const rulesOf = (v: Violation[]) => [...new Set(v.map((x) => x.rule))].sort();

describe("policy rules", () => {
  it("are one per file, each registered, with its id taken from its file name", () => {
    const files = readdirSync(join(__dirname, "..", "..", "constructs", "policies"))
      .filter((f) => f.endsWith(".ts") && !["index.ts", "rule.ts", "suppressions.ts"].includes(f))
      .map((f) => f.replace(/\.ts$/, ""));
    expect(RULES.map((r) => r.id).sort()).toEqual(files.sort());
    expect(files).toEqual(expect.arrayContaining(["sns-topic-key", "s3-metric-dimensions", "fargate-size", "generated-names", "secret-read-order"]));
  });

  it("accept a SecureBucket with lifecycle rules", () => {
    expect(check((s) => new SecureBucket(s, "ok", { bucketName: "ok-bucket", region: storage }).addLifecycleRule({ id: "r", prefix: "", abortMultipartAfterDays: 1 }))).toEqual([]);
  });

  it("flag a bare bucket for encryption, versioning and public access, naming its path", () => {
    const v = check((s) => new S3Bucket(s, "bare", { bucket: "bare-bucket", region: storage }));
    expect(rulesOf(v)).toEqual(["bucket-encryption", "bucket-public-access-block", "bucket-versioning"]);
    expect(v.every((x) => x.path === "policy-test/bare")).toBe(true);
    expect(v.find((x) => x.rule === "bucket-versioning")!.message).toBe(
      "bucket is not versioned; declare it with SecureBucket or add aws_s3_bucket_versioning with status Enabled",
    );
  });

  it("flag versioning that is suspended", () => {
    const v = check((s) => {
      const b = new SecureBucket(s, "b", { bucketName: "b-bucket", region: storage });
      b.versioning.putVersioningConfiguration({ status: "Suspended" });
    });
    expect(rulesOf(v)).toEqual(["bucket-versioning"]);
  });

  it("flag a lifecycle rule without a filter", () => {
    const v = check((s) => {
      const b = new SecureBucket(s, "b", { bucketName: "b-bucket", region: storage });
      new S3BucketLifecycleConfiguration(s, "raw-lifecycle", { bucket: b.bucket.id, rule: [{ id: "no-filter", status: "Enabled", expiration: [{ days: 3 }] }] });
    });
    expect(v).toEqual([
      { rule: "lifecycle-filter", path: "policy-test/raw-lifecycle", message: 'lifecycle rule(s) "no-filter" have no filter; give each rule filter: [{ prefix: "" }] or a real prefix' },
    ]);
  });

  describe("plaintext secrets", () => {
    it("flag a literal secret version", () => {
      const v = check((s) => new SecretsmanagerSecretVersion(s, "sv", { secretId: "x", secretString: "hunter2" }));
      expect(v.map((x) => `${x.rule} ${x.path}`)).toEqual(["plaintext-secret policy-test/sv"]);
    });

    it("flag a literal Worker secret binding", () => {
      const v = check((s) => new WorkersScript(s, "w", { accountId: "a", scriptName: "w", content: "x", bindings: [{ name: "BYPASS_TOKEN", type: "secret_text", text: "abc" }] }));
      expect(v[0].message).toBe("secret_text binding BYPASS_TOKEN has a literal value; read it from Secrets Manager (data source) instead");
    });

    it("flag a credential passed as a plain container environment value", () => {
      const v = check(
        (s) =>
          new EcsTaskDefinition(s, "td", {
            family: "f",
            containerDefinitions: JSON.stringify([{ name: "app", image: "i", environment: [{ name: "OPENAI_API_KEY", value: "abc" }] }]),
          }),
      );
      expect(v[0].message).toMatch(/container app passes OPENAI_API_KEY as a plain environment value/);
    });

    it("flag a PagerDuty integration URL written into a subscription", () => {
      const v = check((s) => new SnsTopicSubscription(s, "pd", { topicArn: "t", protocol: "https", endpoint: "https://events.pagerduty.com/integration/abc123def/enqueue" }));
      expect(v[0].message).toBe("contains a literal PagerDuty integration URL; keep it in Secrets Manager and reference it with a data source");
    });

    it("accept references to Secrets Manager", () => {
      expect(check((s) => new SecretsmanagerSecretVersion(s, "sv", { secretId: "x", secretString: "${data.aws_secretsmanager_random_password.p.random_password}" }))).toEqual([]);
    });
  });

  it("flag state kept in the primary region (bucket and backend)", () => {
    const v = check((s) => new SecureBucket(s, "state", { bucketName: deployment.config.state.bucket, region: primary }), primary);
    expect(v.map((x) => `${x.rule} [${x.path}]`).sort()).toEqual(["state-bucket-region [policy-test/state/bucket]", "state-bucket-region [policy-test]"]);
    expect(v[0].message).toMatch(/set state\.region in the configuration to a region other than regions\.primary/);
  });

  it("accept the HealthAlarm and flag a detection alarm that would fire in 5 minutes or less", () => {
    expect(check((s) => new HealthAlarm(s, "h", { name: "n", hostname: "app.example.com", topicArn: "t" }))).toEqual([]);
    const v = check(
      (s) =>
        new CloudwatchMetricAlarm(s, "fast", {
          alarmName: "fast",
          comparisonOperator: "LessThanThreshold",
          evaluationPeriods: 5,
          period: 60,
          threshold: 1,
          metricName: "HealthCheckStatus",
          namespace: "AWS/Route53",
          tags: { ...DETECTION_TAG },
        }),
    );
    expect(v).toEqual([
      {
        rule: "detection-window",
        path: "policy-test/fast",
        message: "detection alarm fires after 300s of failures, not more than 5 minutes; use HealthAlarm or raise period x datapoints_to_alarm above 300s",
      },
    ]);
  });
});

describe("apply-time rules the schema cannot see", () => {
  const alarm = (s: TerraformStack, id: string, dimensions: Record<string, string>) =>
    new CloudwatchMetricAlarm(s, id, { alarmName: id, comparisonOperator: "GreaterThanThreshold", evaluationPeriods: 1, threshold: 0, namespace: "AWS/S3", metricName: "ReplicationLatency", dimensions });

  it("sns-topic-key: accept a customer-managed key, flag the AWS-managed one", () => {
    expect(check((s) => new SnsTopic(s, "ok", { name: "ok", kmsMasterKeyId: "${aws_kms_key.k.arn}" }))).toEqual([]);
    const v = check((s) => new SnsTopic(s, "t", { name: "t", kmsMasterKeyId: "alias/aws/sns" }));
    expect(v.map((x) => `${x.rule} ${x.path}`)).toEqual(["sns-topic-key policy-test/t"]);
    expect(v[0].message).toMatch(/AWS-managed key alias\/aws\/sns, which CloudWatch alarms and EventBridge rules cannot use/);
  });

  it("s3-metric-dimensions: accept bucket names, flag an ARN", () => {
    expect(check((s) => alarm(s, "ok", { SourceBucket: "src", DestinationBucket: "${aws_s3_bucket.dr.bucket}" }))).toEqual([]);
    const v = check((s) => alarm(s, "arn", { SourceBucket: "src", DestinationBucket: "${aws_s3_bucket.dr.arn}", BucketName: "arn:aws:s3:::x" }));
    expect(v).toEqual([
      {
        rule: "s3-metric-dimensions",
        path: "policy-test/arn",
        message: "dimension(s) BucketName, DestinationBucket hold a bucket ARN; S3 publishes its metrics by bucket name, so the alarm would never see data: use the name (aws_s3_bucket .bucket)",
      },
    ]);
  });

  it("fargate-size: accept 1 vCPU with 2 GB, flag 1 vCPU with 1 GB", () => {
    const task = (s: TerraformStack, id: string, cpu: string, memory: string) =>
      new EcsTaskDefinition(s, id, { family: id, requiresCompatibilities: ["FARGATE"], cpu, memory, containerDefinitions: "[]" });
    expect(check((s) => task(s, "ok", "1024", "2048"))).toEqual([]);
    expect(check((s) => task(s, "small", "1024", "1024"))).toEqual([
      { rule: "fargate-size", path: "policy-test/small", message: "memory 1024 MiB is not valid with cpu 1024 on Fargate; with cpu 1024 use 2048-8192 MiB in steps of 1024; ECS would refuse to register it" },
    ]);
  });

  it("generated-names: accept names within the limits, flag a long load balancer name and a Redis id ending in a hyphen", () => {
    expect(check((s) => new Lb(s, "ok", { name: "livestreamsell-primary-alb" }))).toEqual([]);
    const v = check((s) => {
      new Lb(s, "long", { name: "a-thirty-one-character-project-secondary-alb" });
      new ElasticacheReplicationGroup(s, "redis", { replicationGroupId: "queues-", description: "d" });
    });
    expect(v.map((x) => x.message)).toEqual([
      'load balancer name "a-thirty-one-character-project-secondary-alb" is 44 characters, over AWS\'s limit of 32; shorten name (made from the configuration\'s project) by 12',
      "ElastiCache replication group id \"queues-\" breaks AWS's naming rules (lowercase letters, digits and hyphens, starting with a letter, no two hyphens in a row, not ending with a hyphen); change replication_group_id (made from the configuration's project)",
    ]);
  });

  describe("fis-experiment-bounds", () => {
    const alarm = "arn:aws:cloudwatch:sa-east-1:111122223333:alarm:app-5xx";
    const template = (s: TerraformStack, id: string, over: Partial<FisExperimentTemplateConfig>) =>
      new FisExperimentTemplate(s, id, {
        region: primary,
        description: "d",
        roleArn: "arn:aws:iam::111122223333:role/fis",
        stopCondition: [{ source: "aws:cloudwatch:alarm", value: alarm }],
        action: [
          {
            name: "delay",
            actionId: "aws:ecs:task-network-latency",
            parameter: [
              { key: "duration", value: "PT5M" },
              { key: "delayMilliseconds", value: "30000" },
              { key: "sources", value: "api.openai.com" },
              { key: "useEcsFaultInjectionEndpoints", value: "true" },
            ],
            target: { key: "Tasks", value: "tasks" },
          },
          { name: "stop", actionId: "aws:ecs:stop-task", target: { key: "Tasks", value: "tasks" } },
        ],
        target: [{ name: "tasks", resourceType: "aws:ecs:task", selectionMode: "ALL", parameters: { cluster: "c", service: "s" } }],
        ...over,
      });

    it("accept a timed fault with documented parameters and an alarm stop condition, and an instant stop-task", () => {
      expect(check((s) => template(s, "ok", {}))).toEqual([]);
    });

    it("flag a template without an alarm stop condition", () => {
      const v = check((s) => template(s, "unguarded", { stopCondition: [{ source: "none" }] }));
      expect(v).toEqual([
        {
          rule: "fis-experiment-bounds",
          path: "policy-test/unguarded",
          message: 'it has no CloudWatch alarm stop condition; add stop_condition { source = "aws:cloudwatch:alarm", value = <alarm ARN> }',
        },
      ]);
    });

    it("flag an unbounded, an over-long and a malformed duration, an undocumented parameter and an unknown action", () => {
      const timed = (name: string, parameter: { key: string; value: string }[]) => ({ name, actionId: "aws:ecs:task-network-packet-loss", parameter, target: { key: "Tasks", value: "tasks" } });
      const v = check((s) =>
        template(s, "unbounded", {
          action: [
            timed("no-duration", [{ key: "lossPercent", value: "100" }]),
            timed("half-a-day-more", [{ key: "duration", value: "PT13H" }]),
            timed("in-seconds-word", [{ key: "duration", value: "5 minutes" }]),
            timed("typo", [{ key: "duration", value: "PT5M" }, { key: "lossPercentage", value: "100" }]),
            { name: "cpu", actionId: "aws:ecs:task-cpu-stress", parameter: [{ key: "duration", value: "PT5M" }], target: { key: "Tasks", value: "tasks" } },
          ],
        }),
      );
      expect(v.map((x) => x.rule)).toEqual(["fis-experiment-bounds"]);
      expect(v[0].message.split("; ").filter((m) => m.startsWith("action "))).toEqual([
        "action no-duration (aws:ecs:task-network-packet-loss) has no duration",
        "action half-a-day-more (aws:ecs:task-network-packet-loss) lasts PT13H",
        'action in-seconds-word (aws:ecs:task-network-packet-loss) has duration "5 minutes", not an ISO 8601 duration such as PT5M',
        "action typo (aws:ecs:task-network-packet-loss) has parameter(s) lossPercentage that FIS does not document",
        "action cpu uses aws:ecs:task-cpu-stress, which this plan does not know",
      ]);
      expect(v[0].message).toContain("FIS allows 1 minute to 12 hours");
      expect(v[0].message).toContain("use duration, lossPercent, flowsPercent, sources, installDependencies, useEcsFaultInjectionEndpoints");
    });
  });

  describe("secret-read-order", () => {
    /** Two stacks in declaration order: the first reads (or creates) the secret, the second creates (or reads) it. */
    function twoStacks(readerFirst: boolean) {
      const app = Testing.app();
      const make = (id: string) => {
        const st = new TerraformStack(app, id);
        new AwsProvider(st, "aws", { region: storage });
        return st;
      };
      const [first, second] = [make("first"), make("second")];
      const [reader, creator] = readerFirst ? [first, second] : [second, first];
      new DataAwsSecretsmanagerSecretVersion(reader, "url", { secretId: "pagerduty-url" });
      new SecretsmanagerSecret(creator, "secret", { name: "pagerduty-url" });
      return { app, reader };
    }

    it("accept a stack that reads a secret created by an earlier stack", () => {
      const { reader } = twoStacks(false);
      expect(evaluate(stackView(reader, deployment))).toEqual([]);
    });

    it("flag a stack that reads a secret a later stack creates (the first deployment cannot plan)", () => {
      const { reader } = twoStacks(true);
      expect(evaluate(stackView(reader, deployment))).toEqual([
        {
          rule: "secret-read-order",
          path: "first",
          message: 'first/url reads secret "pagerduty-url" at plan time, but stack second creates it and deploys later, so the first deployment cannot plan; create the secret in a stack declared before first',
        },
      ]);
    });

    it("flag a stack that reads a secret another account holds (the DR account's secret read with the app account's credentials)", () => {
      const app = Testing.app();
      const secretsStack = new TerraformStack(app, "secrets");
      new AwsProvider(secretsStack, "aws", { region: storage, assumeRole: [{ roleArn: "arn:aws:iam::210987654321:role/dr" }] });
      new SecretsmanagerSecret(secretsStack, "pd", { name: "pagerduty-url" });
      const reader = new TerraformStack(app, "monitoring");
      new AwsProvider(reader, "aws", { region: storage });
      new DataAwsSecretsmanagerSecretVersion(reader, "url", { secretId: "pagerduty-url" });
      expect(evaluate(stackView(reader, deployment)).map((v) => v.message)).toEqual([
        'monitoring/url reads secret "pagerduty-url" in the deploying account, but stack secrets creates it in the account of arn:aws:iam::210987654321:role/dr; create the secret in the account that reads it',
      ]);
    });

    it("flag the plan's old layout: monitoring reading the PagerDuty secret that storage, deployed after it, created", () => {
      const app = Testing.app();
      const monitoring = new TerraformStack(app, "monitoring");
      new DataAwsSecretsmanagerSecretVersion(monitoring, "pagerduty-url", { secretId: deployment.config.detection.pagerdutySecretName });
      const storageStack = new TerraformStack(app, "storage");
      new SecretsmanagerSecret(storageStack, "pd", { name: deployment.config.detection.pagerdutySecretName });
      storageStack.addDependency(monitoring);
      expect(evaluate(stackView(monitoring, deployment)).map((v) => v.rule)).toEqual(["secret-read-order"]);
    });
  });
});

describe("suppressions", () => {
  it("waive a rule for one construct with a recorded reason, reported instead of raised", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "waived");
    new AwsProvider(stack, "aws", { region: storage });
    const quiet = new SnsTopic(stack, "quiet", { name: "quiet", kmsMasterKeyId: "alias/aws/sns" });
    new SnsTopic(stack, "loud", { name: "loud", kmsMasterKeyId: "alias/aws/sns" });
    suppressPolicy(quiet, "sns-topic-key", "Only SQS subscribes to this topic; no alarm or rule publishes to it");
    const { violations, suppressed } = evaluateStack(stack, deployment);
    expect(violations.map((v) => `${v.rule} ${v.path}`)).toEqual(["sns-topic-key waived/loud"]);
    expect(suppressed.map(formatSuppressed)).toEqual([
      expect.stringMatching(/^\[waived\/quiet\] sns-topic-key waived: Only SQS subscribes to this topic; no alarm or rule publishes to it \(finding: topic is encrypted/),
    ]);
  });

  it("need a reason", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    expect(() => suppressPolicy(stack, "sns-topic-key", " ")).toThrow('s: suppressing policy rule "sns-topic-key" needs a reason of at least 10 characters saying why the rule does not apply here');
  });

  it("are reported at synth with their reason", () => {
    const app = new App({ outdir: Testing.app().outdir, stackTraces: false });
    const stack = new TerraformStack(app, "waived");
    new AwsProvider(stack, "aws", { region: storage });
    suppressPolicy(new SnsTopic(stack, "quiet", { name: "quiet", kmsMasterKeyId: "alias/aws/sns" }), "sns-topic-key", "Only SQS subscribes to this topic");
    applyPolicies(stack, deployment);
    app.synth();
    const infos = stack.node.metadata.filter((m) => m.type === "@cdktf/info").map((m) => String(m.data));
    expect(infos).toEqual([expect.stringContaining("[waived/quiet] sns-topic-key waived: Only SQS subscribes to this topic")]);
  });
});

describe("policies at synth", () => {
  class Leaky extends TerraformStack {
    constructor(scope: Construct) {
      super(scope, "leaky");
      new AwsProvider(this, "aws", { region: storage });
      new S3BucketVersioningA(this, "v", { bucket: "x", versioningConfiguration: { status: "Enabled" } });
      new SecretsmanagerSecretVersion(this, "sv", { secretId: "x", secretString: "postgres://app:s3cret@db.example.com/prod" });
      applyPolicies(this, deployment);
    }
  }

  it("fail the app's synth with the construct path, the rule and the fix", () => {
    const app = new App({ outdir: Testing.app().outdir, stackTraces: false });
    new Leaky(app);
    expect(() => app.synth()).toThrow(/\[leaky\/sv\] plaintext-secret: secret_string is a literal value; put the value with aws secretsmanager put-secret-value/);
  });

  it("pass for every stack of the plan in every mode", () => {
    const everyOption = join(__dirname, "..", "fixtures", "configs", "every-option.json");
    for (const [ctx, file] of [[{}], [{ region: "secondary" }], [{ maintenance: "on" }], [{ chaos: "on" }], [{}, everyOption], [{ chaos: "on" }, everyOption]] as [Record<string, string>, string?][]) {
      const app = Testing.app();
      const d = resolveDeployment(loadConfig(file), parseContext(ctx));
      for (const stack of defineStacks(app, d)) {
        stack.prepareStack();
        expect({ stack: stack.node.id, ...evaluateStack(stack, d) }).toEqual({ stack: stack.node.id, violations: [], suppressed: [] });
      }
    }
  });
});
