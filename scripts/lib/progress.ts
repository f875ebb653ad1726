/** Progress for long work: a byte counter on stderr when it is a terminal, silent otherwise (logs, CI, --json pipes). */
import { SingleBar } from "cli-progress";

export interface Progress {
  update(value: number): void;
  /** Replaces the phase label, e.g. "downloading" then "restoring". */
  phase(label: string): void;
  stop(): void;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

const silent: Progress = { update: () => undefined, phase: () => undefined, stop: () => undefined };

/** A byte progress line; with total it shows a bar and percentage. */
export function byteProgress(label: string, total?: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silent;
  const started = Date.now();
  const bar = new SingleBar(
    {
      stream,
      format: total ? "{phase} [{bar}] {percentage}% {done} / {all} {rate}" : "{phase} {done} {rate}",
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    { format: "", barCompleteChar: "#", barIncompleteChar: "." },
  );
  let phase = label;
  const payload = (v: number) => ({
    phase,
    done: formatBytes(v),
    all: total ? formatBytes(total) : "",
    rate: `${formatBytes(v / Math.max((Date.now() - started) / 1000, 0.001))}/s`,
  });
  let last = 0;
  bar.start(total ?? 0, 0, payload(0));
  return {
    update: (v) => {
      last = v;
      bar.update(total ? Math.min(v, total) : 0, payload(v));
    },
    phase: (l) => {
      phase = l;
      bar.update(total ? Math.min(last, total) : 0, payload(last));
    },
    stop: () => bar.stop(),
  };
}

/** Callbacks long data work reports through. */
export interface ProgressHooks {
  readonly onBytes?: (bytes: number) => void;
  readonly onPhase?: (phase: string) => void;
}

/** Runs `work` with a byte progress line wired to its hooks, and always clears the line. */
export async function withByteProgress<T>(label: string, work: (hooks: Required<ProgressHooks>) => Promise<T>): Promise<T> {
  const progress = byteProgress(label);
  try {
    return await work({ onBytes: (n) => progress.update(n), onPhase: (p) => progress.phase(p) });
  } finally {
    progress.stop();
  }
}

/** Row counts as "table=n table=n". */
export function formatRowCounts(counts: Record<string, number | null>): string {
  return Object.entries(counts)
    .map(([t, n]) => `${t}=${n}`)
    .join(" ");
}

/**
 * One status line per change, for polling work (PITR) and per-second counts (the spike). Silent when the
 * stream is no terminal, unless `always` (a command whose stdout carries no JSON wants its log too).
 */
export function statusLine(stream: NodeJS.WriteStream = process.stderr, always = false): (text: string) => void {
  if (!stream.isTTY && !always) return () => undefined;
  return (text) => stream.write(`${text}\n`);
}
