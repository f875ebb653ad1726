/**
 * The few Supabase Management API calls that point-in-time recovery needs, with responses validated.
 * Shapes follow the v1 OpenAPI spec: V1BackupsResponse, V1RestorePitrBody, V1ProjectResponse.status.
 */
import { z } from "zod";
import { DrpError } from "../lib/cli";
import { apiFailureMessage, checkApiShape, parseApiJson, retryAfterMs } from "../lib/api-response";

export const DEFAULT_SUPABASE_API_URL = "https://api.supabase.com";

const BackupsSchema = z.object({
  region: z.string().optional(),
  pitr_enabled: z.boolean(),
  walg_enabled: z.boolean().optional(),
  backups: z.array(z.object({ status: z.string(), is_physical_backup: z.boolean().optional(), inserted_at: z.string() })).optional(),
  physical_backup_data: z
    .object({
      earliest_physical_backup_date_unix: z.number().nullable().optional(),
      latest_physical_backup_date_unix: z.number().nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type Backups = z.infer<typeof BackupsSchema>;

/** V1ProjectAddonsResponse: the PITR add-on shows as type "pitr" with a variant id such as "pitr_7". */
const AddonsSchema = z.object({
  selected_addons: z.array(z.object({ type: z.string(), variant: z.object({ id: z.string(), name: z.string().optional() }) })),
});
export type Addons = z.infer<typeof AddonsSchema>;

const ProjectSchema = z.object({ status: z.string().min(1), name: z.string().optional(), region: z.string().optional() });
export type Project = z.infer<typeof ProjectSchema>;

export interface SupabaseApi {
  readonly baseUrl: string;
  listBackups(ref: string): Promise<Backups>;
  listAddons(ref: string): Promise<Addons>;
  restorePitr(ref: string, recoveryTimeTargetUnix: number): Promise<void>;
  getProject(ref: string): Promise<Project>;
}

/** An HTTP failure that may pass on its own (5xx, 429, network), so polling can retry it. */
export class TransientApiError extends DrpError {}

export function supabaseApiFromEnv(env: NodeJS.ProcessEnv = process.env, opts: SupabaseApiOptions = {}): SupabaseApi {
  const token = env.SUPABASE_ACCESS_TOKEN;
  if (!token) throw new DrpError("SUPABASE_ACCESS_TOKEN is not set; create a personal access token in the Supabase dashboard (Account > Access Tokens) and export it", 2);
  const base = env.SUPABASE_API_URL || DEFAULT_SUPABASE_API_URL;
  if (!/^https?:\/\/[^/\s]+/.test(base)) throw new DrpError(`SUPABASE_API_URL="${base}" is not an http(s) URL`, 2);
  return supabaseApi(base.replace(/\/+$/, ""), token, undefined, opts);
}

export interface SupabaseApiOptions {
  /**
   * Epoch milliseconds by which the caller must be done: a 429 is waited out (as long as Retry-After
   * says) only while the wait ends before it; a longer wait fails at once, naming both.
   * @default 5 minutes after each call starts
   */
  readonly deadline?: number;
  /** For tests: how to wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each rate-limit wait. */
  readonly onRateLimit?: (waitMs: number, what: string) => void;
}

/** Supabase blocks every call of a user for a minute after its 60 requests per minute. */
export const SUPABASE_RATE_LIMIT_WINDOW_MS = 60_000;
const DEFAULT_CALL_BUDGET_MS = 5 * 60_000;
const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function supabaseApi(baseUrl: string, token: string, timeoutMs = 30_000, opts: SupabaseApiOptions = {}): SupabaseApi {
  const sleep = opts.sleep ?? sleepFor;

  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const what = `${method} ${path}`;
    const deadline = opts.deadline ?? Date.now() + DEFAULT_CALL_BUDGET_MS;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(Math.max(1, Math.min(timeoutMs, deadline - Date.now()))),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
        throw new TransientApiError(`Supabase API ${what} unreachable at ${baseUrl} (${cause}); check the network or SUPABASE_API_URL`, 1);
      }
      const text = await res.text();
      if (res.status === 429) {
        // A 429 is refused before any work, so even the restore request is safe to send again.
        const asked = retryAfterMs(res.headers);
        const wait = asked ?? Math.min(SUPABASE_RATE_LIMIT_WINDOW_MS, 5_000 * 2 ** attempt);
        const left = deadline - Date.now();
        if (wait > left)
          throw new TransientApiError(
            `Supabase API ${what} is rate limited (429${asked !== undefined ? `, Retry-After ${Math.ceil(asked / 1000)} s` : ""}), longer than the ${Math.max(0, Math.floor(left / 1000))} s left; try again in a minute (Supabase allows 60 requests per minute per user)`,
            1,
          );
        opts.onRateLimit?.(wait, what);
        await sleep(wait);
        continue;
      }
      if (!res.ok) {
        const err = res.status >= 500 ? TransientApiError : DrpError;
        throw new err(
          apiFailureMessage("Supabase API", what, res.status, text, {
            401: "SUPABASE_ACCESS_TOKEN was rejected; create a new token",
            403: "the token's account lacks access to this project",
            404: "no such project for this token; check --project-ref",
          }),
          1,
        );
      }
      return parseApiJson("Supabase API", what, text);
    }
  }

  const check = <T>(schema: z.ZodType<T>, value: unknown, what: string): T => checkApiShape("Supabase API", schema, value, what);

  const enc = encodeURIComponent;
  return {
    baseUrl,
    listBackups: async (ref) => check(BackupsSchema, await call("GET", `/v1/projects/${enc(ref)}/database/backups`), "list backups"),
    listAddons: async (ref) => check(AddonsSchema, await call("GET", `/v1/projects/${enc(ref)}/billing/addons`), "list add-ons"),
    restorePitr: async (ref, unix) => {
      await call("POST", `/v1/projects/${enc(ref)}/database/backups/restore-pitr`, { recovery_time_target_unix: unix });
    },
    getProject: async (ref) => check(ProjectSchema, await call("GET", `/v1/projects/${enc(ref)}`), "get project"),
  };
}
