/** The bundled maintenance Worker in workerd for tests: the same runner `drp maintenance preview` uses. */
import type { WorkerTextEnv } from "../../constructs/maintenance-page/bindings";
import { startMaintenanceWorkers, type RunningWorkers, type StartOptions } from "../../scripts/lib/workerd";

export type Workers = RunningWorkers;

/** Starts the named instances; with `listen`, the first one also serves http://127.0.0.1:<free port>. */
export function startWorkers(instances: Record<string, WorkerTextEnv>, opts: { listen?: boolean } & Omit<StartOptions, "port"> = {}): Promise<Workers> {
  const { listen, ...rest } = opts;
  return startMaintenanceWorkers(instances, listen ? { ...rest, port: 0 } : rest);
}
