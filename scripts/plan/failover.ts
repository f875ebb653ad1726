/**
 * The plan's steps against the clouds: `drp failover`. Every action is a command an operator could type
 * (the cdktf deploys, drp pitr/restore, drp smoke), built once by `failoverCommands`, printed by the dry
 * run and executed by the real one, so what the dry run shows is exactly what runs.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { BYPASS_HEADER, MAINTENANCE_HEADER } from "../../constructs/maintenance-page/bindings";
import type { Adapters, StepId } from "./steps";

/** secondary/primary: the AWS region that serves afterwards; render: the Render services (config render.*). */
export type FailoverTarget = "secondary" | "primary" | "render";

export interface FailoverOptions {
  readonly to: FailoverTarget;
  /** Public URL of the app (https://app...). */
  readonly url: string;
  /** Deploy tool, DRP_CDKTF (default `npx cdktf`), split on spaces. */
  readonly cdktf: readonly string[];
  readonly pitr?: { readonly projectRef: string; readonly to: string };
  readonly restore?: { readonly manifest: string; readonly target: string };
}

export interface Command {
  readonly step: StepId;
  readonly argv: readonly string[];
  /** How it is shown: the argv, with `drp` for this CLI. */
  readonly display: string;
}

const DRP = [process.execPath, join(__dirname, "..", "..", "bin", "drp.cjs")];

export function failoverCommands(o: FailoverOptions): Command[] {
  // Render keeps the AWS layout as it is: only the maintenance toggle changes at the edge.
  const ctx = (maintenance: "on" | "off") => [...(o.to === "render" ? [] : ["-c", `region=${o.to}`]), "-c", `maintenance=${maintenance}`];
  const deploy = (step: StepId, stacks: string[], maintenance: "on" | "off"): Command => {
    const argv = [...o.cdktf, "deploy", ...stacks, ...ctx(maintenance), "--auto-approve"];
    return { step, argv, display: argv.join(" ") };
  };
  const drp = (step: StepId, args: string[]): Command => ({ step, argv: [...DRP, ...args], display: ["npx", "drp", ...args].join(" ") });
  const out: Command[] = [
    deploy("isolate", ["edge"], "on"),
    o.to === "render" ? drp("restore-service", ["render", "deploy", "--confirm"]) : deploy("restore-service", [], "on"),
  ];
  if (o.pitr) out.push(drp("recover-data", ["pitr", "--project-ref", o.pitr.projectRef, "--to", o.pitr.to, "--confirm", o.pitr.projectRef]));
  if (o.restore) out.push(drp("recover-data", ["restore", o.restore.manifest, "--target", o.restore.target]));
  out.push(drp("validate", ["smoke", "--url", o.url]));
  out.push(deploy("reopen", ["edge"], "off"));
  return out;
}

/** Runs one command with inherited output; rejects naming it and its exit code. */
export function execute(c: Command, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.argv[0], c.argv.slice(1), { stdio: ["ignore", "inherit", "inherit"], env });
    child.on("error", (e) => reject(new Error(`${c.display}: ${e.message}`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${c.display} exited ${code}`))));
  });
}

export function cloudAdapters(o: FailoverOptions, bypassToken: string, writePostmortem: Adapters["postmortem"]["write"], run = execute): Adapters {
  const commands = failoverCommands(o);
  const runStep = async (step: StepId) => {
    const mine = commands.filter((c) => c.step === step);
    for (const c of mine) await run(c);
    return mine.map((c) => c.display).join("; ") || "nothing to run";
  };
  return {
    alerts: {
      waitForPage: async () => "paged by the health alarm; the operator started this failover",
      resolve: async () => "PagerDuty and Slack resolve on their own when the health alarm returns to OK",
    },
    edge: {
      setMaintenance: (on) => runStep(on ? "isolate" : "reopen"),
      async publicState() {
        const r = await fetch(o.url, { redirect: "manual", signal: AbortSignal.timeout(15_000) });
        await r.body?.cancel();
        return r.headers.get(MAINTENANCE_HEADER) === "1" ? "maintenance" : "app";
      },
    },
    compute: {
      restore: () => runStep("restore-service"),
      async healthy() {
        const r = await fetch(new URL("/healthz", o.url), { headers: { [BYPASS_HEADER]: bypassToken }, signal: AbortSignal.timeout(15_000) });
        await r.body?.cancel();
        return r.ok;
      },
    },
    data: {
      recover: async () => ((o.pitr ?? o.restore) ? runStep("recover-data") : "no data recovery asked for (--pitr or --restore): the data was not damaged"),
      verify: async () => "checked by the command itself (row counts for restore, project status for pitr)",
    },
    smoke: { run: () => runStep("validate") },
    postmortem: { write: writePostmortem },
  };
}
