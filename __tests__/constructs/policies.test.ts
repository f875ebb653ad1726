/** Each policy rule in a pair: a stack that complies and a stack that breaks it. */
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
import { WorkersScript } from "@cdktf/provider-cloudflare/lib/workers-script";
import { CloudflareProvider } from "@cdktf/provider-cloudflare/lib/provider";
import { loadConfig, parseContext, resolveDeployment } from "../../constructs/config";
import { applyPolicies, evaluate, RULES, stackView, type Violation } from "../../constructs/policies";
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
  it("take their ids from their file names", () => {
    expect(RULES.map((r) => r.id).sort()).toEqual([
      "bucket-encryption",
      "bucket-public-access-block",
      "bucket-versioning",
      "detection-window",
      "lifecycle-filter",
      "plaintext-secret",
      "state-bucket-region",
    ]);
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
    for (const ctx of [{}, { region: "secondary" }, { maintenance: "on" }]) {
      const app = Testing.app();
      const d = resolveDeployment(loadConfig(), parseContext(ctx));
      for (const stack of defineStacks(app, d)) {
        stack.prepareStack();
        expect({ stack: stack.node.id, violations: evaluate(stackView(stack, d)) }).toEqual({ stack: stack.node.id, violations: [] });
      }
    }
  });
});
