/**
 * Ctrl-C and SIGTERM during data work: run every registered cleanup (stop child pg tools first, so no
 * orphaned pg_restore can commit after drp has gone; then drop scratch databases, abort uploads, end
 * the export's snapshot, remove temporary files), then exit 130 (SIGINT) or 143 (SIGTERM). The cleanups
 * get 15 s, or longer when one registered a longer bound of its own. A second signal exits at once.
 */
type Cleanup = () => void | Promise<void>;

const cleanups = new Map<number, { cleanup: Cleanup; first: boolean; boundMs: number }>();
let nextId = 0;
let handling = false;
const CLEANUP_DEADLINE_MS = 15_000;
const EXIT_CODE: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  const code = EXIT_CODE[signal] ?? 1;
  if (handling) process.exit(code);
  handling = true;
  process.stderr.write(`drp: interrupted by ${signal}; cleaning up\n`);
  const all = [...cleanups.values()];
  const run = (list: typeof all) => Promise.allSettled(list.map((c) => Promise.resolve().then(c.cleanup)));
  const work = run(all.filter((c) => c.first)).then(() => run(all.filter((c) => !c.first)));
  // A referenced timer: the process stays up for its cleanups even when they wait on nothing else.
  const deadline = Math.max(CLEANUP_DEADLINE_MS, ...all.map((c) => c.boundMs + 1_000));
  await Promise.race([work, new Promise((resolve) => setTimeout(resolve, deadline))]);
  process.exit(code);
}

/**
 * Resolves at once, unless a signal is being handled: then never, because the handler exits with the
 * signal's code once its cleanups are done. The failure a signal causes in the interrupted work (a tool
 * stopped, an upload aborted) must not exit first with its own message and code.
 */
export function unlessInterrupted(): Promise<void> {
  return handling ? new Promise<void>(() => undefined) : Promise.resolve();
}

let listening = false;

function listen(listen: boolean): void {
  if (listen === listening) return;
  listening = listen;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    if (listen) process.on(signal, onSignal);
    else process.off(signal, onSignal);
  }
}

/**
 * Registers a cleanup for an interruption; returns the function that unregisters it (call it in the
 * same `finally` that does the normal cleanup). `first` cleanups (stopping child processes) run before
 * the others. `boundMs`: how long this cleanup may need, when that is more than the usual 15 s.
 */
export function onInterrupt(cleanup: Cleanup, first = false, boundMs = 0): () => void {
  const id = nextId++;
  cleanups.set(id, { cleanup, first, boundMs });
  listen(true);
  return () => {
    cleanups.delete(id);
    if (cleanups.size === 0 && !handling) listen(false);
  };
}
