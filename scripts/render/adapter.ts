/**
 * Render as the compute adapter of the plan's restore-service step (`drp failover --to render`): what
 * the step would do (for a dry run and the timeline), and the action itself, which fails the step with
 * one line naming every service that did not go live.
 */
import type { DrpConfig } from "../../constructs/config";
import { DrpError } from "../lib/cli";
import type { RenderOutcome } from "./restore";
import { renderTarget, type RenderTargetOptions } from "./target";

export interface RenderCompute {
  readonly target: "render";
  /** One line per request the action sends. */
  describe(): string[];
  /** Deploys (or restarts) every service and waits until each is live. */
  restoreService(): Promise<RenderOutcome>;
}

export function renderCompute(config: DrpConfig, opts: RenderTargetOptions = {}): RenderCompute {
  const t = renderTarget(config, opts);
  return {
    target: "render",
    describe: () => t.plan.requests.map((q, i) => `${t.plan.services[i].name}: ${q.method} ${t.apiUrl}${q.path}${q.body ? ` ${JSON.stringify(q.body)}` : ""}`),
    async restoreService() {
      const outcome = await t.run();
      const failed = outcome.services.filter((s) => !s.ok);
      if (failed.length) throw new DrpError(`Render ${outcome.mode} failed for ${failed.map((s) => `${s.name} (${s.error ?? s.status})`).join("; ")}`, 1);
      return outcome;
    },
  };
}
