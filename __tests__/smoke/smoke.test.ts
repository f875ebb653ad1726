/**
 * The smoke gate against real loopback origins, and through the bundled Worker in workerd listening on
 * loopback with forced maintenance: the token gets the origin's real state, the public gets the page.
 */
import { BYPASS_HEADER, MAINTENANCE_HEADER } from "../../constructs/maintenance-page/bindings";
import { DrpError } from "../../scripts/lib/cli";
import { parseSmokeOptions, type RawSmokeOptions } from "../../scripts/smoke/options";
import { formatReport, runSmoke, type SmokeReport } from "../../scripts/smoke/run";
import { appHandler, closedPortUrl, hangingHandler, startOrigin, type Origin } from "../harness/origins";
import { startWorkers, type Workers } from "../harness/workerd";
import { startTogether } from "../harness/together";

const TOKEN = "smoke-gate-token-0123456789abcdef";

let healthy: Origin;
let apiDown: Origin;
let slow: Origin;
let degraded: Origin;
let silent: Origin;
let hanging: Origin;
let closed: string;
let worker: Workers;
let workerOnBrokenApi: Workers;
let workerOnDeadOrigin: Workers;

beforeAll(async () => {
  [healthy, apiDown, slow, degraded, silent, hanging] = await startTogether(
    startOrigin(appHandler()),
    startOrigin(appHandler({ apiStatus: 500 })),
    startOrigin(appHandler({ delayMs: 150 })),
    startOrigin(appHandler({ health: { status: "degraded", db: "down" } })),
    startOrigin(appHandler({ health: { db: "down" } })),
    startOrigin(hangingHandler),
  );
  closed = await closedPortUrl();
  [worker, workerOnBrokenApi, workerOnDeadOrigin] = await startTogether(
    startWorkers({ gate: { MAINTENANCE: "on", ORIGIN_URL: healthy.url, BYPASS_TOKEN: TOKEN } }, { listen: true }),
    startWorkers({ gate: { MAINTENANCE: "on", ORIGIN_URL: apiDown.url, BYPASS_TOKEN: TOKEN } }, { listen: true }),
    startWorkers({ gate: { MAINTENANCE: "on", ORIGIN_URL: closed, BYPASS_TOKEN: TOKEN } }, { listen: true }),
  );
});

afterAll(async () => {
  await Promise.all([worker?.dispose(), workerOnBrokenApi?.dispose(), workerOnDeadOrigin?.dispose()]);
  await Promise.all([healthy, apiDown, slow, degraded, silent, hanging].map((o) => o?.close()));
});

const smoke = (raw: RawSmokeOptions) => runSmoke(parseSmokeOptions(raw));
const byName = (r: SmokeReport) => Object.fromEntries(r.checks.map((c) => [c.name, c]));

describe("smoke gate against origins", () => {
  it("passes a healthy origin: health, storefront and API read within budget", async () => {
    const r = await smoke({ url: healthy.url });
    expect(r).toMatchObject({ ok: true, url: `${healthy.url}/` });
    expect(r.checks.map((c) => [c.name, c.path, c.status, c.ok, c.reason])).toEqual([
      ["health", "/healthz", 200, true, null],
      ["page", "/", 200, true, null],
      ["api", "/api/products?limit=1", 200, true, null],
    ]);
    for (const c of r.checks) expect(c.ms).toBeGreaterThanOrEqual(0);
  });

  it("fails when the API read answers 500, and says so", async () => {
    const r = await smoke({ url: apiDown.url });
    expect(r.ok).toBe(false);
    const c = byName(r);
    expect(c.health.ok && c.page.ok).toBe(true);
    expect(c.api).toMatchObject({ ok: false, status: 500, reason: 'HTTP 500, expected 200: {"error":"db down"}' });
  });

  it("fails every check of a slow origin that blows the latency budget", async () => {
    const r = await smoke({ url: slow.url, budgetMs: 50 });
    expect(r.ok).toBe(false);
    for (const c of r.checks) {
      expect(c.status).toBe(200);
      expect(c.ms).toBeGreaterThanOrEqual(140);
      expect(c.reason).toBe(`took ${c.ms} ms, over the 50 ms budget`);
    }
    expect((await smoke({ url: slow.url, budgetMs: 2000 })).ok).toBe(true);
  });

  it("fails a health endpoint that reports itself degraded", async () => {
    const c = byName(await smoke({ url: degraded.url }));
    expect(c.health).toMatchObject({ ok: false, status: 200, reason: expect.stringMatching(/^reports status "degraded"/) });
  });

  it("fails a health endpoint that says neither ok nor a healthy status", async () => {
    const c = byName(await smoke({ url: silent.url }));
    expect(c.health).toMatchObject({ ok: false, status: 200, reason: expect.stringMatching(/^reports neither ok: true nor a healthy status/) });
  });

  it("fails on a timeout and on a closed port, naming which", async () => {
    const t = await smoke({ url: hanging.url, timeoutMs: 200 });
    expect(t.checks.map((c) => [c.status, c.reason])).toEqual(Array(3).fill([null, "no complete answer within 200 ms"]));
    const d = await smoke({ url: closed });
    for (const c of d.checks) expect(c.reason).toBe("cannot connect (ECONNREFUSED)");
  });

  it("uses the paths it is given", async () => {
    const r = await smoke({ url: healthy.url, apiPath: "/api/missing" });
    expect(byName(r).api).toMatchObject({ path: "/api/missing", status: 404, ok: false });
  });
});

describe("smoke gate through the Worker in forced maintenance", () => {
  it("the public sees the maintenance page", async () => {
    const r = await fetch(`${worker.url}/`);
    expect(r.status).toBe(503);
    expect(r.headers.get(MAINTENANCE_HEADER)).toBe("1");
    await r.body?.cancel();
  });

  it("passes with the bypass token: the recovered origin is checked behind the page", async () => {
    const before = healthy.hits;
    const r = await smoke({ url: worker.url, bypassToken: TOKEN });
    expect(r.ok).toBe(true);
    expect(healthy.hits).toBe(before + 3);
    expect(formatReport(r, true)).toMatch(/^smoke http:\/\/127\.0\.0\.1:\d+\/ \(through the Worker with the bypass token\)\n/);
  });

  it("fails without the token, naming the maintenance page and the fix", async () => {
    const r = await smoke({ url: worker.url });
    expect(r.ok).toBe(false);
    for (const c of r.checks) {
      expect(c.status).toBe(503);
      expect(c.reason).toContain(`got the maintenance page (${MAINTENANCE_HEADER}: 1), not the app`);
      expect(c.reason).toContain("pass the bypass token (--bypass-token or DRP_BYPASS_TOKEN)");
    }
  });

  it("fails with a wrong token, saying the Worker rejected it", async () => {
    const r = await smoke({ url: worker.url, bypassToken: "not-the-token" });
    expect(r.ok).toBe(false);
    for (const c of r.checks) expect(c.reason).toContain("the Worker rejected the bypass token");
  });

  it("sees the origin's real failure through the bypass, not the page", async () => {
    const c = byName(await smoke({ url: workerOnBrokenApi.url, bypassToken: TOKEN }));
    expect(c.health.ok && c.page.ok).toBe(true);
    expect(c.api).toMatchObject({ ok: false, status: 500, reason: 'HTTP 500, expected 200: {"error":"db down"}' });
  });

  it("reports an origin the Worker cannot reach", async () => {
    const r = await smoke({ url: workerOnDeadOrigin.url, bypassToken: TOKEN });
    expect(r.ok).toBe(false);
    for (const c of r.checks) {
      expect(c.status).toBe(502);
      expect(c.reason).toMatch(/^the Worker could not get an answer from the origin \(unreachable\): drp bypass: origin unreachable: /);
    }
  });
});

describe("smoke gate input", () => {
  const usage = (raw: RawSmokeOptions) => {
    try {
      parseSmokeOptions(raw);
    } catch (e) {
      expect(e).toBeInstanceOf(DrpError);
      expect((e as DrpError).exitCode).toBe(2);
      return (e as Error).message;
    }
    throw new Error("accepted bad input");
  };

  it("rejects bad input with one line naming the cause and the fix", () => {
    expect(usage({})).toBe("--url is required; use the app's base URL, e.g. --url https://app.livestreamsell.ai");
    expect(usage({ url: "app.livestreamsell.ai" })).toBe('--url "app.livestreamsell.ai" is not a URL; use the app\'s base URL, e.g. --url https://app.livestreamsell.ai');
    expect(usage({ url: "ftp://x.example" })).toBe('--url "ftp://x.example" must use https (or http for a local origin)');
    expect(usage({ url: "https://a.example/?x=1" })).toMatch(/must be a base URL without query/);
    expect(usage({ url: "http://app.livestreamsell.ai", bypassToken: TOKEN })).toBe(
      "refusing to send the bypass token over plain http to app.livestreamsell.ai; use an https URL",
    );
    expect(usage({ url: "https://a.example", bypassToken: "" })).toMatch(/^the bypass token .* is empty or has spaces/);
    expect(usage({ url: "https://a.example", timeoutMs: "10s" })).toBe('--timeout-ms "10s" is not valid; use whole milliseconds from 1 to 600000, e.g. --timeout-ms 10000');
    expect(usage({ url: "https://a.example", timeoutMs: "1000", budgetMs: "5000" })).toMatch(/^--budget-ms 5000 exceeds --timeout-ms 1000/);
    expect(usage({ url: "https://a.example", apiPath: "api/products" })).toMatch(/^--api-path "api\/products" is not valid/);
    expect(usage({ url: "https://a.example", pagePath: "//evil.example/" })).toMatch(/^--page-path/);
  });

  it("caps the default budget at a shorter timeout and sends the token in the bypass header", () => {
    const o = parseSmokeOptions({ url: "https://app.livestreamsell.ai", timeoutMs: "500", bypassToken: TOKEN });
    expect(o.budgetMs).toBe(500);
    expect(o.bypassToken).toBe(TOKEN);
    expect(BYPASS_HEADER).toBe("x-drp-bypass-token");
  });
});
