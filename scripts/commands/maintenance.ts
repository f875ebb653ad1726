/** `drp maintenance preview`: the real maintenance page, served locally by workerd, to look at before an incident. */
import { Command, Option } from "commander";
import { DrpError } from "../lib/cli";

function port(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new DrpError(`--port "${raw}" is not valid; use 0 (any free port) to 65535`, 2);
  return n;
}

export function registerMaintenance(program: Command): void {
  const maintenance = program.command("maintenance").description("The maintenance page the Cloudflare Worker serves");
  maintenance
    .command("preview")
    .description("Serve the bundled maintenance Worker locally in workerd with MAINTENANCE=on, on 127.0.0.1, until Ctrl-C")
    .option("--port <n>", "loopback port (0 picks a free one)", "8787")
    .addOption(new Option("--lang <lang>", "language of the printed URL").choices(["es", "en"]).default("es"))
    .action(async (raw: { port: string; lang: "es" | "en" }) => {
      const p = port(raw.port);
      // Loaded on demand: it pulls in miniflare and esbuild, which other commands never need.
      const { startMaintenanceWorkers } = require("../lib/workerd") as typeof import("../lib/workerd");
      const signals = ["SIGINT", "SIGTERM"] as const;
      const before = new Set(signals.flatMap((sig) => process.listeners(sig)));
      let workers: Awaited<ReturnType<typeof startMaintenanceWorkers>>;
      try {
        workers = await startMaintenanceWorkers({ preview: { MAINTENANCE: "on" } }, { port: p, onLog: (l) => process.stderr.write(`worker: ${l}\n`) });
      } catch (e) {
        const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
        throw new DrpError(`cannot serve the preview on 127.0.0.1:${p} (${reason}); pick another --port, or --port 0 for any free one`, 1);
      }
      // miniflare answers SIGINT/SIGTERM with process.exit(130/143) before anything can be disposed; the
      // preview stops workerd itself and exits 0 (miniflare's cleanup on process exit stays in place).
      for (const sig of signals) for (const l of process.listeners(sig)) if (!before.has(l)) process.removeListener(sig, l);
      process.stdout.write(`Maintenance page (${raw.lang}): ${workers.url}/${raw.lang === "en" ? "?lang=en" : ""}\n`);
      process.stderr.write("Serving the bundled Worker in workerd with MAINTENANCE=on; press Ctrl-C to stop.\n");
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await workers.dispose();
    });
}
