/** A harness that fails to start takes down the servers started beside it: nothing is left listening. */
import { connect } from "node:net";
import { startTogether } from "./together";
import { startWorkers, type Workers } from "./workerd";
import { startOrigin } from "./origins";

const listening = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

it("stops workerd and the origin when the browser (or any other part) fails to start", async () => {
  let worker: Workers | undefined;
  let originUrl: string | undefined;
  const browserMissing = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("chromium: not installed")), 50));
  await expect(
    startTogether(
      startWorkers({ maintenance: { MAINTENANCE: "on" } }, { listen: true }).then((w) => (worker = w)),
      startOrigin((_req, res) => res.end("ok")).then((o) => ((originUrl = o.url), o)),
      browserMissing,
    ),
  ).rejects.toThrow("chromium: not installed");
  expect(worker?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(await listening(worker!.url!)).toBe(false);
  expect(await listening(originUrl!)).toBe(false);
});

it("returns every server, in order, when all start", async () => {
  const [a, b] = await startTogether(startOrigin((_req, res) => res.end("a")), startOrigin((_req, res) => res.end("b")));
  try {
    expect(await (await fetch(a.url)).text()).toBe("a");
    expect(await (await fetch(b.url)).text()).toBe("b");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
