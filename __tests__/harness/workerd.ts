/** The bundled maintenance Worker in workerd for tests: the same runner `drp maintenance preview` uses. */
import type { WorkerEnv } from "../../constructs/maintenance-page/bindings";
import { startMaintenanceWorkers, type RunningWorkers } from "../../scripts/lib/workerd";

export type Workers = RunningWorkers;

/** Starts the named instances; with `listen`, the first one also serves http://127.0.0.1:<free port>. */
export function startWorkers(instances: Record<string, WorkerEnv>, opts: { listen?: boolean } = {}): Promise<Workers> {
  return startMaintenanceWorkers(instances, opts.listen ? { port: 0 } : {});
}
