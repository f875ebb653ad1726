/** The Worker's bindings: the one description both the Worker and the edge stack use. */
export const WORKER_BINDINGS = {
  MAINTENANCE: { type: "plain_text", default: "off" },
  ORIGIN_URL: { type: "plain_text", default: "" },
  ORIGIN_TIMEOUT_MS: { type: "plain_text", default: "15000" },
  BYPASS_TOKEN: { type: "secret_text" },
} as const;
export type BindingName = keyof typeof WORKER_BINDINGS;
export const BYPASS_HEADER = "x-drp-bypass-token";
