/** One assertion per requirement of the plan, so a wrong change fails with a readable message. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../constructs/config";
import { WORKER_BINDINGS } from "../../constructs/maintenance-page/bindings";
import { bundleWorker } from "../../constructs/maintenance-page/bundle";
import { fromTerraformLiteral } from "../../constructs/terraform-literal";
import { fargateSizeProblem } from "../../constructs/fargate";
import { only, resources, synthPlan, type Tf } from "./synth";

const config = loadConfig();
const normal = synthPlan({ region: "primary" }).stacks;
const failover = synthPlan({ region: "secondary" }).stacks;
const { primary, secondary, storage: storageRegion } = config.regions;

const ref = /^\$\{.+\}$/s;
const policyOf = (json: string) => JSON.parse(json) as { Statement: any[] };
const regionsUsed = (tf: Tf) => {
  const out = new Set<string>();
  for (const kind of [tf.resource, tf.data]) for (const byId of Object.values(kind ?? {})) for (const r of Object.values(byId)) if (r.region) out.add(r.region);
  return out;
};

describe("DR storage", () => {
  const s = normal.storage;
  const dr = resources(s, "aws_s3_bucket").find((b) => b.bucket === `livestreamsell-dr-${storageRegion}`);

  it("lives in a region independent of both compute regions", () => {
    expect(dr.region).toBe(storageRegion);
    expect([primary, secondary]).not.toContain(dr.region);
  });

  it("lets only the backup workflow on main write the plan's own code, and only under code/", () => {
    const oidc = only(s, "aws_iam_openid_connect_provider");
    expect(oidc).toMatchObject({ url: "https://token.actions.githubusercontent.com", client_id_list: ["sts.amazonaws.com"] });
    const role = resources(s, "aws_iam_role").find((r) => r.name === "livestreamsell-code-backup");
    const trust = JSON.parse(role.assume_role_policy).Statement;
    expect(trust).toEqual([
      expect.objectContaining({
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:livestreamsell/drp:ref:refs/heads/main" } },
      }),
    ]);
    const statements = JSON.parse(role.inline_policy[0].policy).Statement as { Action: string | string[]; Resource: string }[];
    expect(statements.flatMap((x) => x.Action)).toEqual(["s3:PutObject", "kms:GenerateDataKey", "kms:Encrypt"]);
    expect(statements[0].Resource).toMatch(/\/code\/\*$/);
  });

  it("has Object Lock enabled on the bucket with a default retention", () => {
    expect(dr.object_lock_enabled).toBe(true);
    const lock = only(s, "aws_s3_bucket_object_lock_configuration");
    expect(lock.rule.default_retention).toEqual({ days: config.retention.objectLockDays, mode: "GOVERNANCE" });
  });

  it("is versioned, SSE-KMS with a bucket key, fully private and TLS-only", () => {
    const mine = (r: { bucket: string }) => /aws_s3_bucket\.dr-bucket_storage_bucket_\w+\.id/.test(r.bucket);
    expect(resources(s, "aws_s3_bucket_versioning").find(mine).versioning_configuration.status).toBe("Enabled");
    const sse = only(s, "aws_s3_bucket_server_side_encryption_configuration").rule[0];
    expect(sse.apply_server_side_encryption_by_default.sse_algorithm).toBe("aws:kms");
    expect(sse.bucket_key_enabled).toBe(true);
    const pab = only(s, "aws_s3_bucket_public_access_block");
    expect([pab.block_public_acls, pab.block_public_policy, pab.ignore_public_acls, pab.restrict_public_buckets]).toEqual([true, true, true, true]);
    const deny = policyOf(only(s, "aws_s3_bucket_policy").policy).Statement.find((st) => st.Sid === "DenyInsecureTransport");
    expect(deny).toMatchObject({ Effect: "Deny", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  it("moves exports to colder storage, expires them after the retention, and cleans up", () => {
    const rules = only(s, "aws_s3_bucket_lifecycle_configuration").rule;
    expect(rules).toEqual([
      expect.objectContaining({ filter: [{ prefix: "exports/" }], transition: [{ days: 7, storage_class: "GLACIER_IR" }], expiration: [{ days: 35 }] }),
      expect.objectContaining({ filter: [{ prefix: "" }], noncurrent_version_expiration: [{ noncurrent_days: 35 }] }),
      expect.objectContaining({ filter: [{ prefix: "" }], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] }),
    ]);
    expect(config.retention.exportDays).toBeGreaterThanOrEqual(35);
  });

  it("replicates the files bucket continuously with time control and metrics, without deleting DR copies", () => {
    const rep = only(s, "aws_s3_bucket_replication_configuration");
    expect(rep.bucket).toBe(config.files.bucket);
    expect(rep.region).toBe(config.files.region);
    const rule = rep.rule[0];
    expect(rule.destination.replication_time).toEqual({ status: "Enabled", time: { minutes: 15 } });
    expect(rule.destination.metrics).toEqual({ event_threshold: { minutes: 15 }, status: "Enabled" });
    expect(rule.delete_marker_replication.status).toBe("Disabled");
    expect(rule.destination.bucket).toMatch(/aws_s3_bucket\.dr-bucket_storage_bucket_\w+\.arn/);
    const alarms = resources(s, "aws_cloudwatch_metric_alarm").map((a) => a.metric_name);
    expect(alarms).toEqual(expect.arrayContaining(["ReplicationLatency", "OperationsFailedReplication"]));
  });

  it("alarms on replication with the bucket names S3 publishes its metrics under, not ARNs", () => {
    const alarms = resources(s, "aws_cloudwatch_metric_alarm").filter((a) => a.namespace === "AWS/S3");
    expect(alarms).toHaveLength(2);
    for (const a of alarms) {
      expect(a.dimensions.SourceBucket).toBe(config.files.bucket);
      expect(a.dimensions.DestinationBucket).toMatch(/^\$\{aws_s3_bucket\.dr-bucket_storage_bucket_\w+\.bucket\}$/);
    }
  });

  it("declares the plan's secrets without values, in their own stack, and replicates the pull secret to both compute regions", () => {
    const secrets = normal.secrets;
    expect(resources(secrets, "aws_secretsmanager_secret_version")).toHaveLength(0);
    expect(resources(s, "aws_secretsmanager_secret")).toHaveLength(0);
    const pull = resources(secrets, "aws_secretsmanager_secret").find((x) => x.name === config.app.registrySecretName);
    expect(pull.region).toBe(storageRegion);
    expect(pull.replica.map((r: { region: string }) => r.region).sort()).toEqual([primary, secondary].sort());
  });
});

describe("Terraform state", () => {
  it("is kept in a versioned bucket outside the primary region", () => {
    const bucket = only(normal.state, "aws_s3_bucket");
    expect(bucket.bucket).toBe(config.state.bucket);
    expect(bucket.region).not.toBe(primary);
    expect(only(normal.state, "aws_s3_bucket_versioning").versioning_configuration.status).toBe("Enabled");
  });

  it("is one file per stack in that bucket, encrypted and locked", () => {
    for (const [name, tf] of Object.entries({ ...normal, ...failover }))
      expect(tf.terraform?.backend?.s3).toEqual({
        bucket: config.state.bucket,
        key: `livestreamsell/${name}.tfstate`,
        region: config.state.region,
        encrypt: true,
        // Encrypted with the state bucket's own key, not SSE-S3.
        kms_key_id: `alias/${config.state.bucket}`,
        use_lockfile: true,
      });
    const alias = only(normal.state, "aws_kms_alias");
    expect(alias.name).toBe(`alias/${config.state.bucket}`);
  });

  it("requires the Terraform version the lockfile needs (1.10) in every stack", () => {
    for (const [name, tf] of Object.entries({ ...normal, ...failover })) expect({ name, v: (tf.terraform as { required_version?: string }).required_version }).toEqual({ name, v: ">= 1.10" });
  });
});

describe("regional compute", () => {
  const active = normal["compute-primary"];
  const standby = normal["compute-secondary"];

  it("runs the last stable GHCR image pinned by digest, pulling with credentials from Secrets Manager", () => {
    const [container] = JSON.parse(only(active, "aws_ecs_task_definition").container_definitions);
    expect(container.image).toBe(`${config.app.image}@${config.app.digest}`);
    expect(container.repositoryCredentials.credentialsParameter).toMatch(/data\.aws_secretsmanager_secret\.app_registry-secret_\w+\.arn/);
    expect(only(active, "aws_ecs_task_definition").region).toBe(primary);
  });

  it("reads the pull secret from its own region (the replica), so failover needs no re-entry", () => {
    expect(Object.values(failover["compute-secondary"].data!.aws_secretsmanager_secret)[0]).toMatchObject({ name: config.app.registrySecretName, region: secondary });
  });

  it("can scale to at least 5x nominal capacity in the serving region", () => {
    const scaling = only(active, "aws_appautoscaling_target");
    expect(scaling.min_capacity).toBe(config.app.nominalTasks);
    expect(scaling.max_capacity).toBeGreaterThanOrEqual(5 * config.app.nominalTasks);
    const metrics = resources(active, "aws_appautoscaling_policy").map((p) => p.target_tracking_scaling_policy_configuration.predefined_metric_specification.predefined_metric_type);
    expect(metrics.sort()).toEqual(["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]);
  });

  it("keeps the standby region as pilot light: the same service at zero tasks", () => {
    expect(only(standby, "aws_ecs_service").desired_count).toBe(0);
    expect(only(standby, "aws_appautoscaling_target")).toMatchObject({ min_capacity: 0, max_capacity: 0 });
    expect(only(standby, "aws_elasticache_replication_group").num_cache_clusters).toBe(1);
  });

  it("serves from the secondary after failover, with the same image and full scaling", () => {
    const svc = failover["compute-secondary"];
    expect(only(svc, "aws_ecs_service").desired_count).toBe(config.app.nominalTasks);
    expect(only(svc, "aws_appautoscaling_target").max_capacity).toBe(config.app.maxTasks);
    expect(JSON.parse(only(svc, "aws_ecs_task_definition").container_definitions)[0].image).toBe(`${config.app.image}@${config.app.digest}`);
  });

  it("overrides the image digest for one deploy with -c image=", () => {
    const digest = `sha256:${"b".repeat(64)}`;
    const tf = synthPlan({ region: "secondary", image: digest }).stacks["compute-secondary"];
    expect(JSON.parse(only(tf, "aws_ecs_task_definition").container_definitions)[0].image).toBe(`${config.app.image}@${digest}`);
  });

  it("checks health behind an HTTPS ALB that admits only Cloudflare", () => {
    expect(only(active, "aws_lb_target_group").health_check.path).toBe(config.app.healthPath);
    expect(only(active, "aws_lb_listener")).toMatchObject({ port: 443, protocol: "HTTPS" });
    const albSg = resources(active, "aws_security_group").find((g) => g.name.endsWith("-alb"));
    expect(albSg.ingress[0].cidr_blocks).toMatch(/data\.cloudflare_ip_ranges/);
  });

  it("creates the ECS service only after the listener that forwards to its target group", () => {
    const listener = Object.keys(active.resource!.aws_lb_listener)[0];
    expect(only(active, "aws_ecs_service").depends_on).toContain(`aws_lb_listener.${listener}`);
  });

  it("validates each region's certificate with its own record, named without ACM's trailing dot", () => {
    const names = [active, standby].map((tf) => {
      const cert = only(tf, "aws_acm_certificate");
      expect(cert.subject_alternative_names).toBeUndefined();
      return cert.domain_name;
    });
    expect(names).toEqual([`origin-${primary}.livestreamsell.ai`, `origin-${secondary}.livestreamsell.ai`]);
    const validation = Object.values(active.resource!.cloudflare_dns_record).find((r: any) => r.for_each);
    expect(validation.name).toBe('${trimsuffix(each.value.resource_record_name, ".")}');
    expect(validation.content).toBe('${trimsuffix(each.value.resource_record_value, ".")}');
  });

  it("has Redis for the queues, encrypted, with a replica while serving", () => {
    expect(only(active, "aws_elasticache_replication_group")).toMatchObject({ num_cache_clusters: 2, automatic_failover_enabled: true, transit_encryption_enabled: true });
  });

  it("keeps logs for the configured retention", () => {
    expect(only(active, "aws_cloudwatch_log_group").retention_in_days).toBe(config.retention.logDays);
  });
});

describe("edge (Cloudflare)", () => {
  const pools = (tf: Tf) => resources(tf, "cloudflare_load_balancer_pool");
  const poolByRef = (tf: Tf, r: string) => {
    const id = /cloudflare_load_balancer_pool\.([\w-]+)\.id/.exec(r)![1];
    return tf.resource!.cloudflare_load_balancer_pool[id];
  };

  it("fails over by pool order with the serving region first", () => {
    for (const [tf, first, second] of [
      [normal.edge, primary, secondary],
      [failover.edge, secondary, primary],
    ] as const) {
      const lb = only(tf, "cloudflare_load_balancer");
      expect(lb.steering_policy).toBe("off");
      expect(lb.default_pools.map((r: string) => poolByRef(tf, r).origins[0].address)).toEqual([`origin-${first}.livestreamsell.ai`, `origin-${second}.livestreamsell.ai`]);
    }
  });

  it("falls back to a pool that lands on the maintenance page", () => {
    const lb = only(normal.edge, "cloudflare_load_balancer");
    expect(poolByRef(normal.edge, lb.fallback_pool).origins[0].address).toBe("maintenance.livestreamsell.ai");
    const routes = resources(normal.edge, "cloudflare_workers_route").map((r) => r.pattern);
    expect(routes.sort()).toEqual(["app.livestreamsell.ai/*", "maintenance.livestreamsell.ai/*"]);
  });

  it("reaches each region's origin by the hostname its certificate names (Host and SNI), health checks included", () => {
    for (const pool of pools(normal.edge).filter((p) => p.monitor)) expect(pool.origins[0].header.host).toEqual([pool.origins[0].address]);
    expect(only(normal.edge, "cloudflare_load_balancer_monitor").header).toBeUndefined();
  });

  it("monitors every regional pool over HTTPS no faster than the plan allows", () => {
    const monitor = only(normal.edge, "cloudflare_load_balancer_monitor");
    expect(monitor).toMatchObject({ type: "https", path: config.app.healthPath, expected_codes: "200" });
    expect(monitor.interval).toBeGreaterThanOrEqual(60);
    expect(pools(normal.edge).filter((p) => p.monitor)).toHaveLength(2);
  });

  it("deploys exactly the bundled maintenance Worker with the bindings the Worker reads", () => {
    const script = only(normal.edge, "cloudflare_workers_script");
    // Terraform reads the content as a template: escaped, it hands the provider exactly the bundle.
    expect(fromTerraformLiteral(script.content)).toBe(bundleWorker().code);
    expect(script.content).not.toMatch(/(^|[^$])\$\{|(^|[^%])%\{/);
    expect(script.bindings.map((b: { name: string; type: string }) => [b.name, b.type])).toEqual(Object.entries(WORKER_BINDINGS).map(([n, b]) => [n, b.type]));
    expect(script.bindings.find((b: { name: string }) => b.name === "BYPASS_TOKEN").text).toMatch(ref);
  });

  it("buffers Meta webhooks on a queue the same Worker consumes, with a dead-letter queue, both kept 14 days", () => {
    const queues = resources(normal.edge, "cloudflare_queue");
    expect(queues.map((q) => [q.queue_name, q.settings.message_retention_period]).sort()).toEqual([
      ["livestreamsell-edge-meta-webhooks", 14 * 24 * 3600],
      ["livestreamsell-edge-meta-webhooks-dlq", 14 * 24 * 3600],
    ]);
    const [bufferId, dlqId] = ["livestreamsell-edge-meta-webhooks", "livestreamsell-edge-meta-webhooks-dlq"].map(
      (name) => Object.entries(normal.edge.resource!.cloudflare_queue).find(([, q]) => (q as { queue_name: string }).queue_name === name)![0],
    );
    const consumer = only(normal.edge, "cloudflare_queue_consumer");
    expect(consumer).toMatchObject({
      type: "worker",
      queue_id: `\${cloudflare_queue.${bufferId}.id}`,
      dead_letter_queue: `\${cloudflare_queue.${dlqId}.queue_name}`,
      script_name: expect.stringMatching(/^\$\{cloudflare_workers_script\..+\.script_name\}$/),
      settings: { batch_size: 100, max_retries: 100, max_wait_time_ms: 1000 },
    });
    const bindings = only(normal.edge, "cloudflare_workers_script").bindings as { name: string; queue_name?: string; text?: string }[];
    expect(bindings.find((b) => b.name === "WEBHOOK_QUEUE")!.queue_name).toBe(`\${cloudflare_queue.${bufferId}.queue_name}`);
    expect(bindings.find((b) => b.name === "WEBHOOK_DEAD_LETTERS")!.queue_name).toBe(`\${cloudflare_queue.${dlqId}.queue_name}`);
    expect(bindings.find((b) => b.name === "WEBHOOK_DEAD_LETTER_QUEUE_NAME")!.text).toBe("livestreamsell-edge-meta-webhooks-dlq");
    for (const secret of ["META_APP_SECRET", "META_VERIFY_TOKEN"]) expect(bindings.find((b) => b.name === secret)!.text).toMatch(ref);
  });

  it("forces the maintenance page only with maintenance=on", () => {
    const mode = (tf: Tf) => only(tf, "cloudflare_workers_script").bindings.find((b: { name: string }) => b.name === "MAINTENANCE").text;
    expect(mode(normal.edge)).toBe("off");
    expect(mode(synthPlan({ maintenance: "on" }).stacks.edge)).toBe("on");
    expect(mode(synthPlan({ region: "secondary", maintenance: "on" }).stacks.edge)).toBe("on");
  });
});

describe("detection", () => {
  const m = normal.monitoring;
  const alarm = resources(m, "aws_cloudwatch_metric_alarm").find((a) => a.metric_name === "HealthCheckStatus");

  it("checks the public endpoint over HTTPS", () => {
    expect(only(m, "aws_route53_health_check")).toMatchObject({ type: "HTTPS", fqdn: config.edge.appHostname, resource_path: config.app.healthPath });
  });

  it("alerts only after more than 5 consecutive unhealthy minutes, in us-east-1", () => {
    expect(alarm).toMatchObject({ region: "us-east-1", period: 60, evaluation_periods: 6, datapoints_to_alarm: 6, threshold: 1, comparison_operator: "LessThanThreshold" });
    expect(alarm.period * alarm.datapoints_to_alarm).toBeGreaterThan(5 * 60);
  });

  it("encrypts every alert topic with its region's customer-managed key, usable by CloudWatch and EventBridge", () => {
    const topics = resources(m, "aws_sns_topic");
    expect(topics).toHaveLength(3);
    const keys = m.resource!.aws_kms_key;
    for (const topic of topics) {
      const id = /^\$\{aws_kms_key\.([\w-]+)\.arn\}$/.exec(topic.kms_master_key_id)![1];
      expect(keys[id].region).toBe(topic.region);
      const publish = policyOf(keys[id].policy).Statement.find((st) => st.Sid === "AlarmsAndEventsPublish");
      expect(publish.Principal.Service.sort()).toEqual(["cloudwatch.amazonaws.com", "events.amazonaws.com"]);
      expect(publish.Action).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
    }
  });

  it("notifies PagerDuty and Slack, and resolves on OK", () => {
    expect(alarm.alarm_actions).toEqual(alarm.ok_actions);
    const subs = resources(m, "aws_sns_topic_subscription");
    expect(subs.every((s) => s.protocol === "https" && ref.test(s.endpoint))).toBe(true);
    const slack = only(m, "aws_chatbot_slack_channel_configuration");
    expect(slack).toMatchObject({ slack_team_id: config.detection.slack.workspaceId, slack_channel_id: config.detection.slack.channelId });
    expect(slack.sns_topic_arns).toHaveLength(3);
  });
});

describe("scheduled export", () => {
  const e = normal.export;
  const schedule = only(e, "aws_scheduler_schedule");

  it("runs weekly as an ECS Fargate task with retries and a dead-letter queue", () => {
    expect(schedule.schedule_expression).toBe(config.export.schedule);
    expect(schedule.target.ecs_parameters.launch_type).toBe("FARGATE");
    expect(schedule.target.retry_policy.maximum_retry_attempts).toBeGreaterThan(0);
    expect(schedule.target.dead_letter_config.arn).toMatch(/aws_sqs_queue\./);
  });

  it("gives the job a role that writes under the exports prefix only and can delete nothing", () => {
    const role = resources(e, "aws_iam_role").find((r) => r.name.endsWith("-export-task"));
    const statements = policyOf(role.inline_policy[0].policy).Statement;
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions.some((a: string) => /Delete|PutBucket|PutObjectRetention|BypassGovernance/.test(a))).toBe(false);
    const write = statements.find((st) => [st.Action].flat().includes("s3:PutObject"));
    expect(write.Resource).toMatch(/\/exports\/\*$/);
  });

  it("creates its database URL secret (no value) beside the job, in the job's own account", () => {
    const secret = only(e, "aws_secretsmanager_secret");
    expect(secret).toMatchObject({ name: config.export.databaseUrlSecretName, region: storageRegion });
    expect(resources(e, "aws_secretsmanager_secret_version")).toHaveLength(0);
    const [c] = JSON.parse(only(e, "aws_ecs_task_definition").container_definitions);
    expect(c.secrets[0].valueFrom).toMatch(/^\$\{aws_secretsmanager_secret\.[\w-]+\.arn\}$/);
  });

  it("passes the database URL as an ECS secret and the bucket settings as environment", () => {
    const [c] = JSON.parse(only(e, "aws_ecs_task_definition").container_definitions);
    expect(c.command).toEqual(["export", "--json"]);
    expect(c.secrets).toEqual([{ name: "DATABASE_URL", valueFrom: expect.stringMatching(ref) }]);
    expect(Object.fromEntries(c.environment.map((x: { name: string; value: string }) => [x.name, x.value]))).toMatchObject({
      DRP_EXPORT_PREFIX: "exports/",
      DRP_CRITICAL_TABLES: "orders,order_states,audit_logs",
    });
  });

  it("alarms when the job fails, stops without ever starting, or cannot be started", () => {
    expect(only(e, "aws_cloudwatch_metric_alarm").metric_name).toBe("ApproximateNumberOfMessagesVisible");
    const detail = JSON.parse(only(e, "aws_cloudwatch_event_rule").event_pattern).detail;
    expect(detail.lastStatus).toEqual(["STOPPED"]);
    expect(detail.$or).toEqual([{ containers: { name: ["export"], exitCode: [{ "anything-but": 0 }] } }, { stopCode: ["TaskFailedToStart"] }]);
  });

  it("sizes the task as Fargate allows (1 vCPU needs 2-8 GB)", () => {
    const task = only(e, "aws_ecs_task_definition");
    expect(fargateSizeProblem(Number(task.cpu), Number(task.memory))).toBeUndefined();
  });
});

describe("first deployment (README)", () => {
  const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### First deployment"), readme.indexOf("### What a failover touches"));
  const { objects, stacks } = synthPlan({});
  const declared = Object.keys(objects);

  it("deploys every stack once, in the order the app declares them", () => {
    const deployed = [...section.matchAll(/^npx cdktf deploy ([^\n#]+)/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    expect(deployed).toEqual(declared);
  });

  it("declares each stack after the stacks it depends on", () => {
    for (const [i, name] of declared.entries())
      for (const dep of objects[name].dependencies.map((d) => d.node.id)) expect({ name, dep, before: declared.indexOf(dep) < i }).toEqual({ name, dep, before: true });
  });

  it("imports the hand-made state bucket, key and alias by the addresses the state stack gives them", () => {
    const addresses = [...section.matchAll(/terraform import ([\w-]+)\.([\w-]+) /g)].map((m) => [m[1], m[2]]);
    expect(addresses.map(([type]) => type).sort()).toEqual(["aws_kms_alias", "aws_kms_key", "aws_s3_bucket"]);
    for (const [type, id] of addresses) expect(stacks.state.resource?.[type]?.[id]).toBeDefined();
  });
});

describe("stack independence", () => {
  it("lets the edge and each compute stack deploy alone (maintenance toggle, image roll-out)", () => {
    const { objects } = synthPlan({});
    for (const name of ["edge", "compute-primary", "compute-secondary"]) expect({ name, dependsOn: objects[name].dependencies.map((d) => d.node.id) }).toEqual({ name, dependsOn: [] });
  });
});

describe("failover (-c region=secondary)", () => {
  it("declares only the stacks a failover touches", () => {
    expect(Object.keys(failover).sort()).toEqual(["compute-secondary", "edge"]);
  });

  it("needs nothing from the primary region: no resource there and no remote state read", () => {
    for (const [name, tf] of Object.entries(failover)) {
      expect({ name, regions: [...regionsUsed(tf)].filter((r) => r === primary) }).toEqual({ name, regions: [] });
      expect({ name, remoteState: Object.keys(tf.data?.terraform_remote_state ?? {}) }).toEqual({ name, remoteState: [] });
      expect(tf.terraform?.backend?.s3.region).not.toBe(primary);
    }
  });

  it("keeps the edge and secondary compute identical to their normal-mode resources except what failover changes", () => {
    const names = (tf: Tf) => Object.entries(tf.resource ?? {}).flatMap(([t, byId]) => Object.keys(byId).map((id) => `${t}.${id}`)).sort();
    expect(names(failover.edge)).toEqual(names(normal.edge));
    expect(names(failover["compute-secondary"])).toEqual(names(normal["compute-secondary"]));
  });
});
