/** `drp failover`: the recovery plan against the clouds, step by step, with a timeline; a dry run unless --confirm. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Command, Option } from "commander";
import { DrpError, emit } from "../lib/cli";
import { parseBypassToken } from "../../constructs/maintenance-page/bindings";

interface Flags {
  to: "secondary" | "primary" | "render";
  url?: string;
  pitr?: string;
  projectRef?: string;
  restore?: string;
  target?: string;
  confirm?: boolean;
  resume?: string;
  timeline?: string;
  lang: "es" | "en";
  json?: boolean;
}

/** Everything a real run needs, checked before anything starts; every problem in one line. */
export function failoverProblems(f: Flags, env: NodeJS.ProcessEnv): string[] {
  const p: string[] = [];
  if (f.pitr && f.restore) p.push("--pitr and --restore exclude each other: recover in place (pitr) or from the export (restore)");
  if (f.pitr && !f.projectRef) p.push("--pitr needs --project-ref REF");
  if (f.restore && !f.target) p.push("--restore needs --target DATABASE_URL");
  if (!f.confirm) return p;
  const token = parseBypassToken(env.DRP_BYPASS_TOKEN);
  if (!token.ok || token.value === null) p.push("DRP_BYPASS_TOKEN must hold the Worker's bypass token (32+ printable characters) for the smoke gate");
  if (!env.AWS_PROFILE && !(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) && !env.AWS_WEB_IDENTITY_TOKEN_FILE) p.push("no AWS credentials: set AWS_PROFILE (after aws sso login) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  if (!env.CLOUDFLARE_API_TOKEN) p.push("CLOUDFLARE_API_TOKEN is not set: the edge deploys need it");
  if (f.pitr && !env.SUPABASE_ACCESS_TOKEN) p.push("--pitr needs SUPABASE_ACCESS_TOKEN");
  if (f.to === "render" && !env.RENDER_API_KEY) p.push("--to render needs RENDER_API_KEY");
  return p;
}

export function registerFailover(program: Command): void {
  program
    .command("failover")
    .description(
      "Run the recovery plan against the clouds: maintenance on, the failover deploy, optional data recovery, the smoke gate through the bypass, " +
        "maintenance off only when it passes. A dry run (printing every command) unless --confirm; every step goes to a timeline file.",
    )
    .addOption(new Option("--to <target>", "what serves afterwards: the secondary or primary AWS region, or the Render services (render.* of the config)").choices(["secondary", "primary", "render"]).makeOptionMandatory())
    .option("--url <url>", "public URL of the app (default: https://edge.appHostname of the config)")
    .option("--pitr <time>", "recover the database in place to this time (drp pitr), ISO-8601 with a zone")
    .option("--project-ref <ref>", "Supabase project ref, with --pitr")
    .option("--restore <manifest>", "restore this weekly export instead (drp restore), s3://.../manifest.json")
    .option("--target <url>", "database to restore into, with --restore")
    .option("--confirm", "run it for real")
    .option("--resume <timeline>", "continue the timeline of a failed run from its failed step")
    .option("--timeline <file>", "where the timeline is written (default failover-<time>.json)")
    .addOption(new Option("--lang <lang>", "language of the post-mortem").choices(["es", "en"]).default("es"))
    .option("--json", "print one JSON object { ok, failedStep, timeline, commands }")
    .addHelpText("after", "\nEnvironment: DRP_CDKTF (deploy tool, default `npx cdktf`), DRP_BYPASS_TOKEN, AWS credentials, CLOUDFLARE_API_TOKEN, SUPABASE_ACCESS_TOKEN (with --pitr).")
    .action(async (f: Flags) => {
      const problems = failoverProblems(f, process.env);
      if (problems.length) throw new DrpError(`cannot start the failover: ${problems.join("; ")}`, 2);
      const { failoverCommands, cloudAdapters } = require("../plan/failover") as typeof import("../plan/failover");
      const { runPlan, parseTimeline } = require("../plan/runner") as typeof import("../plan/runner");
      const { renderPostmortem } = require("../plan/postmortem") as typeof import("../plan/postmortem");
      let url = f.url;
      if (!url) {
        const { loadConfig } = require("../../constructs/config") as typeof import("../../constructs/config");
        url = `https://${loadConfig().edge.appHostname}`;
      }
      try {
        if (!["https:", "http:"].includes(new URL(url).protocol)) throw new Error("not http(s)");
      } catch {
        throw new DrpError(`--url "${url}" is not an http(s) URL; pass the app's public URL, e.g. https://app.livestreamsell.ai`, 2);
      }
      const cdktf = (process.env.DRP_CDKTF ?? "npx cdktf").trim().split(/\s+/);
      const options = { to: f.to, url, cdktf, ...(f.pitr ? { pitr: { projectRef: f.projectRef!, to: f.pitr } } : {}), ...(f.restore ? { restore: { manifest: f.restore, target: f.target! } } : {}) };
      const commands = failoverCommands(options);
      if (!f.confirm) {
        emit(f.json === true, { ok: true, dryRun: true, commands: commands.map((c) => ({ step: c.step, command: c.display })) }, () =>
          ["Dry run: the failover would run, in order (add --confirm to run it):", ...commands.map((c) => `  [${c.step}] ${c.display}`)].join("\n"),
        );
        return;
      }
      let timeline;
      let path: string;
      if (f.resume) {
        if (!existsSync(f.resume)) throw new DrpError(`--resume ${f.resume}: no such file; pass the timeline a failed failover wrote`, 2);
        timeline = parseTimeline(readFileSync(f.resume, "utf8"), f.resume);
        if (timeline.kind !== "failover" || timeline.scenario !== f.to) throw new DrpError(`--resume ${f.resume} is a ${timeline.kind} to ${timeline.scenario}, not a failover to ${f.to}; resume with the same --to`, 2);
        path = f.resume;
      } else {
        path = f.timeline ?? `failover-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
        timeline = { kind: "failover" as const, scenario: f.to, startedAt: new Date().toISOString(), entries: [], facts: {} };
      }
      const adapters = cloudAdapters(options, process.env.DRP_BYPASS_TOKEN!, async (entries) => {
        const pm = join(dirname(path), `${path.replace(/\.json$/, "").split("/").pop()}-postmortem-${f.lang}.md`);
        writeFileSync(pm, renderPostmortem({ ...timeline, entries: [...entries] }, f.lang));
        return pm;
      });
      const result = await runPlan({ adapters, timeline, path, onStep: (e) => process.stderr.write(e.status === "running" ? `drp failover: ${e.step}...\n` : `drp failover: ${e.step} ${e.status}${e.error ? `: ${e.error}` : ""}\n`) });
      const failed = timeline.entries.at(-1);
      emit(f.json === true, { ok: result.ok, failedStep: result.failed ?? null, timeline: path, commands: commands.map((c) => c.display) }, () =>
        result.ok
          ? `Failover to ${f.to} complete; timeline ${path}`
          : `Failover stopped at ${result.failed}: ${failed?.error}. Traffic stays on the maintenance page. Fix the cause, then: npx drp failover --to ${f.to} --confirm --resume ${path}`,
      );
      if (!result.ok) process.exitCode = 1;
    });
}
