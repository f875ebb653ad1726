import { isReference, PolicyRule, ResourceView, ruleId } from "./rule";

/** Shapes of credentials this plan handles; a literal match anywhere in a resource is a leak. */
const SECRET_PATTERNS: readonly [string, RegExp][] = [
  ["PagerDuty integration URL", /events\.pagerduty\.com\/integration\/[A-Za-z0-9]+/],
  ["Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ["Slack webhook URL", /hooks\.slack\.com\/services\/[A-Za-z0-9/]+/],
  ["OpenAI API key", /\bsk-[A-Za-z0-9_-]{20,}/],
  ["GitHub token", /\bgh[pousr]_[A-Za-z0-9]{30,}/],
  ["database URL with a password", /\bpostgres(ql)?:\/\/[^:\s/@]+:[^@\s]+@/],
  ["AWS secret access key", /aws_secret_access_key\s*[=:]\s*\S{30,}/i],
];
const SECRET_ENV = /(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|DATABASE_URL|CREDENTIALS)/i;

function* strings(value: unknown): Generator<string> {
  if (typeof value === "string") yield value;
  else if (Array.isArray(value)) for (const v of value) yield* strings(v);
  else if (value && typeof value === "object") for (const v of Object.values(value)) yield* strings(v);
}

function explicitSecretFields(r: ResourceView): string | undefined {
  if (r.type === "aws_secretsmanager_secret_version") {
    for (const f of ["secret_string", "secret_binary"])
      if (r.config[f] !== undefined && !isReference(r.config[f])) return `${f} is a literal value; put the value with aws secretsmanager put-secret-value instead of declaring it`;
  }
  if (r.type === "cloudflare_workers_script") {
    const bindings = (r.config.bindings as { name?: string; type?: string; text?: unknown }[] | undefined) ?? [];
    const bad = bindings.find((b) => b.type === "secret_text" && !isReference(b.text));
    if (bad) return `secret_text binding ${bad.name} has a literal value; read it from Secrets Manager (data source) instead`;
  }
  if (r.type === "aws_ecs_task_definition" && typeof r.config.container_definitions === "string") {
    const containers = JSON.parse(r.config.container_definitions) as { name?: string; environment?: { name: string; value: string }[] }[];
    for (const c of containers)
      for (const env of c.environment ?? [])
        if (SECRET_ENV.test(env.name) && !isReference(env.value) && !/^\$\{/.test(env.value))
          return `container ${c.name} passes ${env.name} as a plain environment value; use the container's "secrets" (valueFrom a Secrets Manager ARN)`;
  }
  return undefined;
}

export const plaintextSecret: PolicyRule = {
  id: ruleId(__filename),
  description: "No secret value appears in plain text in the synthesized configuration",
  check(r) {
    const explicit = explicitSecretFields(r);
    if (explicit) return explicit;
    for (const s of strings(r.config))
      for (const [what, pattern] of SECRET_PATTERNS)
        if (pattern.test(s)) return `contains a literal ${what}; keep it in Secrets Manager and reference it with a data source`;
    return undefined;
  },
};
