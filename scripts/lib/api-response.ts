/** Reading a JSON API's answer, the one way the drp API clients (Supabase, Render) do it: one-line errors naming the API and the call. */
import type { z } from "zod";
import { DrpError } from "./cli";

/** The body as JSON; empty means no value. */
export function parseApiJson(api: string, what: string, text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new DrpError(`${api} ${what} returned non-JSON (${text.slice(0, 80)})`, 1);
  }
}

/** The value checked against the schema the API documents; the first mismatch named. */
export function checkApiShape<T>(api: string, schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DrpError(`${api} ${what} returned an unexpected shape: ${i.path.join(".") || "(root)"}: ${i.message}`, 1);
  }
  return r.data;
}

/**
 * Milliseconds a `Retry-After` header asks to wait (RFC 9110: delay-seconds or an HTTP date), or
 * undefined when there is none or it cannot be read.
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const raw = headers.get("retry-after")?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * One line for a failed answer: `<api> <what> failed: <hint> (<status>: <body>)`, the hint chosen by status
 * (`HTTP <status>` when there is none), the body collapsed to one line of at most 200 characters.
 */
export function apiFailureMessage(api: string, what: string, status: number, text: string, hints: Readonly<Record<number, string>>): string {
  const detail = text.replace(/\s+/g, " ").slice(0, 200);
  return `${api} ${what} failed: ${hints[status] ?? `HTTP ${status}`}${detail ? ` (${status}: ${detail})` : ""}`;
}
