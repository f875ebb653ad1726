/**
 * The few Supabase Management API calls that point-in-time recovery needs, with responses validated.
 * Shapes follow the v1 OpenAPI spec: V1BackupsResponse, V1RestorePitrBody, V1ProjectResponse.status.
 */
import { z } from "zod";
import { DrpError } from "../lib/cli";
import { checkApiShape, parseApiJson } from "../lib/api-response";

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

export function supabaseApiFromEnv(env: NodeJS.ProcessEnv = process.env): SupabaseApi {
  const token = env.SUPABASE_ACCESS_TOKEN;
  if (!token) throw new DrpError("SUPABASE_ACCESS_TOKEN is not set; create a personal access token in the Supabase dashboard (Account > Access Tokens) and export it", 2);
  const base = env.SUPABASE_API_URL || DEFAULT_SUPABASE_API_URL;
  if (!/^https?:\/\/[^/\s]+/.test(base)) throw new DrpError(`SUPABASE_API_URL="${base}" is not an http(s) URL`, 2);
  return supabaseApi(base.replace(/\/+$/, ""), token);
}

export function supabaseApi(baseUrl: string, token: string, timeoutMs = 30_000): SupabaseApi {
  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const what = `${method} ${path}`;
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
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new TransientApiError(`Supabase API ${what} unreachable at ${baseUrl} (${cause}); check the network or SUPABASE_API_URL`, 1);
    }
    const text = await res.text();
    if (!res.ok) {
      const detail = text.replace(/\s+/g, " ").slice(0, 200);
      const hint =
        res.status === 401
          ? "SUPABASE_ACCESS_TOKEN was rejected; create a new token"
          : res.status === 403
            ? "the token's account lacks access to this project"
            : res.status === 404
              ? "no such project for this token; check --project-ref"
              : `HTTP ${res.status}`;
      const err = res.status >= 500 || res.status === 429 ? TransientApiError : DrpError;
      throw new err(`Supabase API ${what} failed: ${hint}${detail ? ` (${res.status}: ${detail})` : ""}`, 1);
    }
    return parseApiJson("Supabase API", what, text);
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
