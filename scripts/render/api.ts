/**
 * The few calls of Render's public REST API (https://api-docs.render.com) that restoring service needs:
 * trigger a deploy of an image (POST /v1/services/{id}/deploys with imageUrl), read a deploy
 * (GET /v1/services/{id}/deploys/{deployId}) and restart a service (POST /v1/services/{id}/restart).
 * Rate limits answer 429; the wait comes from Retry-After, else Ratelimit-Reset (documented as the
 * window's reset in UTC epoch seconds), else an exponential backoff with jitter, as Render recommends.
 */
import { z } from "zod";
import { DrpError } from "../lib/cli";
import { apiFailureMessage, checkApiShape, parseApiJson, retryAfterMs } from "../lib/api-response";

export const DEFAULT_RENDER_API_URL = "https://api.render.com";
export const RENDER_API_KEY_ENV = "RENDER_API_KEY";

/** Statuses of a Render deploy: `live` is success; these end it without success. */
export const DEPLOY_FAILED = ["build_failed", "update_failed", "canceled", "deactivated", "pre_deploy_failed"] as const;
export const DEPLOY_LIVE = "live";

const DeploySchema = z.object({
  id: z.string().min(1),
  status: z.string().min(1),
  createdAt: z.string().optional(),
  finishedAt: z.string().nullable().optional(),
  image: z.object({ ref: z.string().optional(), sha: z.string().optional() }).partial().nullable().optional(),
});
export type Deploy = z.infer<typeof DeploySchema>;

export interface RenderApi {
  readonly baseUrl: string;
  deployImage(serviceId: string, imageUrl: string): Promise<Deploy>;
  getDeploy(serviceId: string, deployId: string): Promise<Deploy>;
  restart(serviceId: string): Promise<void>;
}

export interface RenderApiOptions {
  readonly timeoutMs?: number;
  /** Retries of a 429 or 5xx answer before giving up. @default 6 */
  readonly maxRetries?: number;
  /** Longest single wait for a rate limit, in ms. @default 60000 */
  readonly maxWaitMs?: number;
  /** For tests: how to wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each rate-limit wait. */
  readonly onRateLimit?: (waitMs: number, what: string) => void;
}

export function renderApiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const key = env[RENDER_API_KEY_ENV];
  if (!key) throw new DrpError(`${RENDER_API_KEY_ENV} is not set; create an API key in the Render dashboard (Account Settings > API Keys) and export it`, 2);
  if (!/^[A-Za-z0-9_-]{8,200}$/.test(key)) throw new DrpError(`${RENDER_API_KEY_ENV} does not look like a Render API key (rnd_...); copy it again from the dashboard`, 2);
  return key;
}

/** Milliseconds a 429 asks us to wait. */
export function rateLimitWait(headers: Headers, attempt: number, now = Date.now(), random = Math.random): number {
  const retryAfter = retryAfterMs(headers, now);
  if (retryAfter !== undefined) return retryAfter;
  const reset = Number(headers.get("ratelimit-reset"));
  if (headers.get("ratelimit-reset") !== null && Number.isFinite(reset) && reset >= 0)
    // Epoch seconds per the docs; a small number is a delay in seconds (as in the docs' own example).
    return reset > 1e9 ? Math.max(0, reset * 1000 - now) : reset * 1000;
  return Math.min(30_000, 500 * 2 ** attempt) * (0.5 + random() / 2);
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function renderApi(baseUrl: string, apiKey: string, opts: RenderApiOptions = {}): RenderApi {
  const maxRetries = opts.maxRetries ?? 6;
  const maxWaitMs = opts.maxWaitMs ?? 60_000;
  const sleep = opts.sleep ?? sleepFor;

  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const what = `${method} ${path}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${apiKey}`, accept: "application/json", ...(body !== undefined ? { "content-type": "application/json" } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
        throw new DrpError(`Render API ${what} unreachable at ${baseUrl} (${cause}); check the network or render.apiUrl`, 1);
      }
      const text = await res.text();
      if ((res.status === 429 || res.status >= 500) && attempt < maxRetries) {
        const wait = res.status === 429 ? rateLimitWait(res.headers, attempt) : Math.min(10_000, 500 * 2 ** attempt);
        if (wait > maxWaitMs) throw new DrpError(`Render API ${what} is rate limited for ${Math.ceil(wait / 1000)} s more; try again later (Render allows 10 deploys per minute per service)`, 1);
        if (res.status === 429) opts.onRateLimit?.(wait, what);
        await sleep(wait);
        continue;
      }
      if (!res.ok) {
        throw new DrpError(
          apiFailureMessage("Render API", what, res.status, text, {
            401: `${RENDER_API_KEY_ENV} was rejected; create a new API key`,
            403: "the API key's account lacks access to this service",
            404: "no such service for this key; check render.services in the config",
            429: `still rate limited after ${maxRetries} retries`,
          }),
          1,
        );
      }
      return parseApiJson("Render API", what, text);
    }
  }

  const deploy = (value: unknown, what: string): Deploy => checkApiShape("Render API", DeploySchema, value, what);

  const enc = encodeURIComponent;
  return {
    baseUrl,
    deployImage: async (id, imageUrl) => deploy(await call("POST", `/v1/services/${enc(id)}/deploys`, { imageUrl }), "trigger deploy"),
    getDeploy: async (id, deployId) => deploy(await call("GET", `/v1/services/${enc(id)}/deploys/${enc(deployId)}`), "retrieve deploy"),
    restart: async (id) => {
      await call("POST", `/v1/services/${enc(id)}/restart`);
    },
  };
}
