/**
 * Restore service on Render: deploy the last stable image by digest to every configured Render service
 * (or restart them), follow each deploy until it is live, and report per service. The services deploy
 * concurrently; one that fails does not stop the others from being followed to the end.
 */
import { DEPLOY_FAILED, DEPLOY_LIVE, type RenderApi } from "./api";

export type RenderMode = "deploy" | "restart";

export interface RenderService {
  readonly id: string;
  readonly name: string;
}

export interface RenderPlan {
  readonly mode: RenderMode;
  /** The image every service gets (deploy only). */
  readonly imageUrl: string | null;
  readonly services: readonly RenderService[];
  readonly requests: readonly { readonly method: "POST"; readonly path: string; readonly body?: unknown }[];
}

export function planRender(mode: RenderMode, services: readonly RenderService[], imageUrl: string): RenderPlan {
  return {
    mode,
    imageUrl: mode === "deploy" ? imageUrl : null,
    services,
    requests: services.map((s) =>
      mode === "deploy" ? { method: "POST" as const, path: `/v1/services/${s.id}/deploys`, body: { imageUrl } } : { method: "POST" as const, path: `/v1/services/${s.id}/restart` },
    ),
  };
}

export interface ServiceOutcome {
  readonly id: string;
  readonly name: string;
  readonly ok: boolean;
  readonly deployId: string | null;
  /** Last status seen: a Render deploy status, "restart requested", "timeout" or "error". */
  readonly status: string;
  readonly seconds: number;
  readonly error: string | null;
}

export interface RenderOutcome {
  readonly ok: boolean;
  readonly mode: RenderMode;
  readonly imageUrl: string | null;
  readonly services: readonly ServiceOutcome[];
}

export interface RunRenderOptions {
  readonly api: RenderApi;
  readonly plan: RenderPlan;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly onStatus?: (service: RenderService, status: string, seconds: number) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function deployOne(o: RunRenderOptions, s: RenderService): Promise<ServiceOutcome> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const outcome = (ok: boolean, deployId: string | null, status: string, error: string | null): ServiceOutcome => ({ id: s.id, name: s.name, ok, deployId, status, seconds: seconds(), error });
  let deployId: string | null = null;
  let status = "not started";
  try {
    if (o.plan.mode === "restart") {
      await o.api.restart(s.id);
      o.onStatus?.(s, "restart requested", seconds());
      return outcome(true, null, "restart requested", null);
    }
    const created = await o.api.deployImage(s.id, o.plan.imageUrl!);
    deployId = created.id;
    status = created.status;
    o.onStatus?.(s, status, seconds());
    const deadline = started + o.timeoutMs;
    while (status !== DEPLOY_LIVE && !(DEPLOY_FAILED as readonly string[]).includes(status)) {
      if (performance.now() + o.pollMs > deadline)
        return outcome(false, deployId, "timeout", `deploy ${deployId} of ${s.name} (${s.id}) not live after ${Math.round(o.timeoutMs / 1000)} s (last status ${status}); follow it in the Render dashboard or raise render.deployTimeoutMinutes`);
      await sleep(o.pollMs);
      const next = (await o.api.getDeploy(s.id, deployId)).status;
      if (next !== status) o.onStatus?.(s, next, seconds());
      status = next;
    }
    if (status === DEPLOY_LIVE) return outcome(true, deployId, status, null);
    return outcome(false, deployId, status, `deploy ${deployId} of ${s.name} (${s.id}) ended ${status}; read its logs in the Render dashboard, then deploy again or restart the service`);
  } catch (e) {
    return outcome(false, deployId, "error", (e as Error).message.split("\n")[0]);
  }
}

export async function runRender(o: RunRenderOptions): Promise<RenderOutcome> {
  const services = await Promise.all(o.plan.services.map((s) => deployOne(o, s)));
  return { ok: services.every((s) => s.ok), mode: o.plan.mode, imageUrl: o.plan.imageUrl, services };
}
