/**
 * Starts several local servers at once and, if any of them fails to start, stops every one that did
 * before the error surfaces: `[a, b] = await Promise.all([...])` would lose the started ones (the
 * assignment never happens), so afterAll could not stop them and, for example, workerd stayed listening
 * after jest exited when Chromium was missing.
 */

/** What the harnesses return: something with dispose(), close() or stop(). */
type Stoppable = { dispose?: () => Promise<unknown>; close?: () => Promise<unknown>; stop?: () => Promise<unknown> };

export async function stopStarted(thing: unknown): Promise<void> {
  const s = thing as Stoppable | undefined;
  await (s?.dispose?.() ?? s?.close?.() ?? s?.stop?.());
}

export async function startTogether<T extends readonly unknown[]>(...starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  await Promise.allSettled(settled.filter((s) => s.status === "fulfilled").map((s) => stopStarted((s as PromiseFulfilledResult<unknown>).value)));
  throw failed.reason;
}
