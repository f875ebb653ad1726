/**
 * The task sizes Fargate accepts (Linux): each CPU size allows only a range of memory, in fixed steps.
 * ECS rejects any other pair when the task definition is registered, long after synth; the config, the
 * constructs and the fargate-size policy rule check against this one table instead.
 */
export const FARGATE_SIZES: Readonly<Record<number, { readonly minMiB: number; readonly maxMiB: number; readonly stepMiB: number }>> = {
  256: { minMiB: 512, maxMiB: 2048, stepMiB: 512 },
  512: { minMiB: 1024, maxMiB: 4096, stepMiB: 1024 },
  1024: { minMiB: 2048, maxMiB: 8192, stepMiB: 1024 },
  2048: { minMiB: 4096, maxMiB: 16384, stepMiB: 1024 },
  4096: { minMiB: 8192, maxMiB: 30720, stepMiB: 1024 },
};

/** What is wrong with a cpu/memory pair, naming the memory Fargate allows for that CPU; undefined when valid. */
export function fargateSizeProblem(cpu: number, memoryMiB: number): string | undefined {
  const size = FARGATE_SIZES[cpu];
  if (!size) return `cpu ${cpu} is not a Fargate CPU size; use one of ${Object.keys(FARGATE_SIZES).join(", ")}`;
  const ok = memoryMiB >= size.minMiB && memoryMiB <= size.maxMiB && (memoryMiB - size.minMiB) % size.stepMiB === 0;
  if (ok) return undefined;
  const allowed = size.stepMiB === 512 ? "512, 1024 or 2048 MiB" : `${size.minMiB}-${size.maxMiB} MiB in steps of ${size.stepMiB}`;
  return `memory ${memoryMiB} MiB is not valid with cpu ${cpu} on Fargate; with cpu ${cpu} use ${allowed}`;
}
