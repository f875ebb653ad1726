/** `drp render deploy|restart`: restore service on Render, the alternative target of the restore-service step. */
import type { Command } from "commander";
import { DrpError, emit } from "../lib/cli";
import { configFor, numberOption, warn } from "../data/command-support";
import type { RenderMode } from "../render/restore";

interface RenderFlags {
  digest?: string;
  service?: string[];
  confirm?: boolean;
  timeout?: string;
  pollInterval?: string;
  json?: boolean;
}

export function registerRender(program: Command): void {
  const render = program.command("render").description("restore service on Render: deploy the last stable image by digest, or restart the services");
  for (const mode of ["deploy", "restart"] as const) {
    const cmd = render
      .command(mode)
      .description(mode === "deploy" ? "deploy the last stable image (app.image@app.digest) to the configured Render services and wait until each is live" : "restart the configured Render services")
      .option("--service <id...>", "only these of render.services (default: all)")
      .option("--confirm", "do it for real (without it: a dry run that prints the requests)")
      .option("--json", "print one JSON object");
    if (mode === "deploy")
      cmd
        .option("--digest <sha256>", "deploy this digest instead of app.digest (sha256:<64 hex>)")
        .option("--timeout <minutes>", "a deploy not live after this long fails (default render.deployTimeoutMinutes)")
        .option("--poll-interval <seconds>", "seconds between deploy status reads (default render.pollSeconds)");
    cmd.addHelpText(
      "after",
      `
Render services, API URL and timeouts come from the config's render section.
Exit codes: 0 every service ${mode === "deploy" ? "is live" : "restarted"}, 1 one or more did not (each named), 2 bad input.

Environment:
  RENDER_API_KEY          Render API key (Account Settings > API Keys), needed with --confirm
  DRP_CONFIG              the plan's configuration file

Example:
  drp render ${mode}${mode === "deploy" ? " --digest sha256:<64 hex>" : ""}
  drp render ${mode} --confirm`,
    );
    cmd.action(async (flags: RenderFlags) => runRenderCommand(mode, flags));
  }
}

async function runRenderCommand(mode: RenderMode, flags: RenderFlags): Promise<void> {
  const { RENDER_API_KEY_ENV } = require("../render/api") as typeof import("../render/api");
  const { renderTarget } = require("../render/target") as typeof import("../render/target");
  const { statusLine } = require("../lib/progress") as typeof import("../lib/progress");
  const config = configFor("cannot restore on Render");
  const timeout = numberOption(flags.timeout, "--timeout", "minutes", 0.01, 120);
  const poll = numberOption(flags.pollInterval, "--poll-interval", "seconds", 0.05, 300);
  const status = statusLine();
  const target = renderTarget(config, {
    mode,
    digest: flags.digest,
    serviceIds: flags.service,
    timeoutMs: timeout === undefined ? undefined : timeout * 60_000,
    pollMs: poll === undefined ? undefined : poll * 1000,
    onStatus: (s, st, t) => status(`  ${String(t).padStart(6)} s  ${s.name}: ${st}`),
    onRateLimit: (ms, what) => status(`  rate limited on ${what}; waiting ${Math.ceil(ms / 1000)} s`),
  });
  const { plan } = target;

  if (!flags.confirm) {
    if (!process.env[RENDER_API_KEY_ENV]) warn(`${RENDER_API_KEY_ENV} is not set; --confirm will need it`);
    emit(Boolean(flags.json), { dryRun: true, ...plan }, () =>
      [
        `dry run: would ${mode} ${plan.services.length} Render service${plan.services.length > 1 ? "s" : ""}${plan.imageUrl ? ` with ${plan.imageUrl}` : ""}`,
        ...plan.requests.map((q, i) => `  ${plan.services[i].name} (${plan.services[i].id}): ${q.method} ${target.apiUrl}${q.path}${q.body ? ` ${JSON.stringify(q.body)}` : ""}`),
        `to run it: drp render ${mode}${flags.digest ? ` --digest ${flags.digest}` : ""} --confirm`,
      ].join("\n"),
    );
    return;
  }

  const outcome = await target.run();
  emit(Boolean(flags.json), { dryRun: false, ...outcome }, () =>
    outcome.services.map((s) => `${s.ok ? "ok    " : "FAILED"} ${s.name} (${s.id}): ${s.status}${s.deployId ? ` ${s.deployId}` : ""} after ${s.seconds} s${s.error ? `; ${s.error}` : ""}`).join("\n"),
  );
  const failed = outcome.services.filter((s) => !s.ok);
  if (failed.length) throw new DrpError(`Render ${mode} failed for ${failed.map((s) => `${s.name} (${s.status})`).join(", ")}`, 1);
}
