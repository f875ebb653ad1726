/**
 * Render as a target of the plan's restore-service step: everything `drp render` and `drp failover --to
 * render` share, from the validated configuration to a plan (what would be sent) and a run (send it and
 * follow every deploy until live). Inputs are validated here, once, as bad input (exit 2).
 */
import { IMAGE_DIGEST, type DrpConfig } from "../../constructs/config";
import { DrpError } from "../lib/cli";
import { renderApi, renderApiKeyFromEnv } from "./api";
import { planRender, runRender, type RenderMode, type RenderOutcome, type RenderPlan, type RenderService } from "./restore";

export interface RenderTargetOptions {
  readonly mode?: RenderMode;
  /** Overrides app.digest. */
  readonly digest?: string;
  /** A subset of render.services by ID. */
  readonly serviceIds?: readonly string[];
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly onStatus?: (service: RenderService, status: string, seconds: number) => void;
  readonly onRateLimit?: (waitMs: number, what: string) => void;
}

export interface RenderTarget {
  readonly apiUrl: string;
  readonly plan: RenderPlan;
  /** Sends the plan and follows it; needs RENDER_API_KEY. */
  run(): Promise<RenderOutcome>;
}

export function renderTarget(config: DrpConfig, o: RenderTargetOptions = {}): RenderTarget {
  const r = config.render;
  if (!r) throw new DrpError("render is not configured: add a render section with services [{ id: srv-..., name }] to the config", 2);
  if (o.digest !== undefined && !IMAGE_DIGEST.test(o.digest)) throw new DrpError(`--digest "${o.digest}" is not an image digest; use sha256:<64 hex digits>`, 2);
  const unknown = (o.serviceIds ?? []).filter((id) => !r.services.some((s) => s.id === id));
  if (unknown.length) throw new DrpError(`--service ${unknown.join(", ")} is not in render.services (${r.services.map((s) => s.id).join(", ")})`, 2);
  const services = o.serviceIds ? r.services.filter((s) => o.serviceIds!.includes(s.id)) : r.services;
  const plan = planRender(o.mode ?? "deploy", services, `${config.app.image}@${o.digest ?? config.app.digest}`);
  const apiUrl = r.apiUrl.replace(/\/+$/, "");
  return {
    apiUrl,
    plan,
    run: () => {
      const api = renderApi(apiUrl, renderApiKeyFromEnv(o.env), { onRateLimit: o.onRateLimit });
      return runRender({ api, plan, timeoutMs: o.timeoutMs ?? r.deployTimeoutMinutes * 60_000, pollMs: o.pollMs ?? r.pollSeconds * 1000, onStatus: o.onStatus });
    },
  };
}
