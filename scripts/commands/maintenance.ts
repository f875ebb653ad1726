/**
 * `drp maintenance preview`: the production Worker bundle, with its webhook buffer queue and consumer,
 * served locally by workerd: look at the page, or watch Meta webhooks being buffered and replayed.
 */
import { Command, Option } from "commander";
import { parseOriginUrl } from "../../constructs/maintenance-page/bindings";
import { DrpError } from "../lib/cli";

/** Secrets from the environment (never flags, which `ps` shows): unset is allowed, set but blank is a mistake. */
function secretFromEnv(name: "META_APP_SECRET" | "META_VERIFY_TOKEN"): string | undefined {
  const v = process.env[name];
  if (v === undefined) return undefined;
  if (v.trim() === "") throw new DrpError(`${name} is set but empty; export the real value or unset it`, 2);
  return v;
}

function port(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new DrpError(`--port "${raw}" is not valid; use 0 (any free port) to 65535`, 2);
  return n;
}

export function registerMaintenance(program: Command): void {
  const maintenance = program.command("maintenance").description("The maintenance page the Cloudflare Worker serves");
  maintenance
    .command("preview")
    .description(
      "Serve the production Worker bundle with its webhook queue and consumer locally in workerd, on 127.0.0.1, until Ctrl-C. " +
        "META_APP_SECRET and META_VERIFY_TOKEN (environment) enable the webhook buffer and the hub.challenge answer",
    )
    .option("--port <n>", "loopback port (0 picks a free one)", "8787")
    .addOption(new Option("--lang <lang>", "language of the printed URL").choices(["es", "en"]).default("es"))
    .option("--origin <url>", "origin to forward to (and replay buffered webhooks to), e.g. http://127.0.0.1:3000")
    .addOption(new Option("--maintenance <on|off>", "force the maintenance page").choices(["on", "off"]).default("on"))
    .action(async (raw: { port: string; lang: "es" | "en"; origin?: string; maintenance: "on" | "off" }) => {
      const p = port(raw.port);
      let originUrl: string | undefined;
      if (raw.origin !== undefined) {
        const parsed = parseOriginUrl(raw.origin);
        if (!parsed.ok || parsed.value === null)
          throw new DrpError(`--origin "${raw.origin}" is not usable (${parsed.ok ? "empty" : parsed.error}); use a base URL such as http://127.0.0.1:3000`, 2);
        originUrl = parsed.value.href.replace(/\/$/, "");
      } else if (raw.maintenance === "off") {
        throw new DrpError("--maintenance off needs --origin URL: without an origin there is nothing to pass traffic to", 2);
      }
      const appSecret = secretFromEnv("META_APP_SECRET");
      const verifyToken = secretFromEnv("META_VERIFY_TOKEN");
      // Loaded on demand: it pulls in miniflare and esbuild, which other commands never need.
      const { startEdgeWorker } = require("../lib/workerd") as typeof import("../lib/workerd");
      const signals = ["SIGINT", "SIGTERM"] as const;
      const before = new Set(signals.flatMap((sig) => process.listeners(sig)));
      let workers: Awaited<ReturnType<typeof startEdgeWorker>>;
      try {
        workers = await startEdgeWorker({
          originUrl,
          maintenance: raw.maintenance === "on",
          appSecret,
          verifyToken,
          port: p,
          onLog: (l) => process.stderr.write(`worker: ${l}\n`),
        });
      } catch (e) {
        const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
        throw new DrpError(`cannot serve the preview on 127.0.0.1:${p} (${reason}); pick another --port, or --port 0 for any free one`, 1);
      }
      // miniflare answers SIGINT/SIGTERM with process.exit(130/143) before anything can be disposed; the
      // preview stops workerd itself and exits 0 (miniflare's cleanup on process exit stays in place).
      for (const sig of signals) for (const l of process.listeners(sig)) if (!before.has(l)) process.removeListener(sig, l);
      process.stdout.write(`Maintenance page (${raw.lang}): ${workers.url}/${raw.lang === "en" ? "?lang=en" : ""}\n`);
      process.stderr.write(
        [
          `Serving the bundled Worker in workerd with MAINTENANCE=${raw.maintenance}, origin ${originUrl ?? "none"}.`,
          appSecret
            ? `Meta webhooks: POST ${workers.url}/webhooks/meta are buffered and replayed to the origin while it is down${raw.maintenance === "on" ? " (held while maintenance is on)" : ""}.`
            : "Meta webhooks: META_APP_SECRET is not set, so they are answered 503 during an outage instead of buffered.",
          verifyToken ? `hub.challenge is answered at ${workers.url}/webhooks/meta with META_VERIFY_TOKEN.` : "META_VERIFY_TOKEN is not set: hub.challenge goes to the origin.",
          "Press Ctrl-C to stop.",
        ].join("\n") + "\n",
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await workers.dispose();
    });
}
