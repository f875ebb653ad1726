/**
 * The bundled maintenance Worker in workerd against real loopback origins: pass-through, forced
 * maintenance, isolation of a failing origin, the smoke bypass, and what each kind of client receives.
 */
import { createHash } from "node:crypto";
import { BYPASS_HEADER, MAINTENANCE_HEADER, RETRY_AFTER_SECONDS } from "../../constructs/maintenance-page/bindings";
import { bundleWorker } from "../../constructs/maintenance-page/bundle";
import {
  SECRET_ERROR_BODY,
  closedPortUrl,
  echoHandler,
  failingHandler,
  hangingHandler,
  startOrigin,
  streamingHandler,
  type Echo,
  type Origin,
} from "../harness/origins";
import { startWorkers, type Workers } from "../harness/workerd";
import { startTogether } from "../harness/together";

const TOKEN = "s3cret-bypass-token-for-tests-0123456789";
const bypass = { [BYPASS_HEADER]: TOKEN };

let echo: Origin;
let failing: Origin;
let hanging: Origin;
let streaming: Origin;
const stream = streamingHandler();
let w: Workers;

beforeAll(async () => {
  [echo, failing, hanging, streaming] = await startTogether(
    startOrigin(echoHandler),
    startOrigin(failingHandler(500)),
    startOrigin(hangingHandler),
    startOrigin(stream.handler),
  );
  const closed = await closedPortUrl();
  w = await startWorkers({
    normal: { ORIGIN_URL: echo.url, BYPASS_TOKEN: TOKEN },
    maintenance: { MAINTENANCE: "on", ORIGIN_URL: echo.url, BYPASS_TOKEN: TOKEN },
    failing: { ORIGIN_URL: failing.url, BYPASS_TOKEN: TOKEN },
    hanging: { ORIGIN_URL: hanging.url, ORIGIN_TIMEOUT_MS: "300", BYPASS_TOKEN: TOKEN },
    unreachable: { ORIGIN_URL: closed, BYPASS_TOKEN: TOKEN },
    streaming: { ORIGIN_URL: streaming.url },
    noSecret: { MAINTENANCE: "on", ORIGIN_URL: echo.url },
    emptySecret: { MAINTENANCE: "on", ORIGIN_URL: echo.url, BYPASS_TOKEN: "" },
    badMaintenance: { MAINTENANCE: "yes", ORIGIN_URL: echo.url, BYPASS_TOKEN: TOKEN },
    badOrigin: { ORIGIN_URL: "ftp://origin.example.com", BYPASS_TOKEN: TOKEN },
    fallbackHost: { MAINTENANCE_HOSTNAME: "app.livestreamsell.ai", ORIGIN_URL: echo.url, BYPASS_TOKEN: TOKEN },
    otherFallbackHost: { MAINTENANCE_HOSTNAME: "maintenance.livestreamsell.ai", ORIGIN_URL: echo.url },
  });
});

afterAll(async () => {
  stream.release();
  await w?.dispose();
  await Promise.all([echo, failing, hanging, streaming].map((o) => o?.close()));
});

const echoOf = async (r: Response) => (await r.json()) as Echo;

async function expectMaintenancePage(r: Response, lang: "es" | "en" = "es"): Promise<string> {
  expect(r.status).toBe(503);
  expect(r.headers.get("retry-after")).toBe(String(RETRY_AFTER_SECONDS));
  expect(r.headers.get("cache-control")).toBe("no-store");
  expect(r.headers.get(MAINTENANCE_HEADER)).toBe("1");
  expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(r.headers.get("content-language")).toBe(lang);
  const body = await r.text();
  expect(body).toContain(lang === "es" ? "<h1>Mantenimiento Programado</h1>" : "<h1>Scheduled Maintenance</h1>");
  expect(body).toContain(`<html lang="${lang}">`);
  return body;
}

describe("normal mode passes traffic to the origin untouched", () => {
  it("keeps method, path, query, headers and body", async () => {
    const payload = JSON.stringify({ order: 42, items: ["polera"] });
    const r = await w.fetch("normal", "/api/orders/42?expand=items&x=%C3%B1", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-request-id": "abc-123", authorization: "Bearer user-token" },
      body: payload,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-origin")).toBe("echo");
    expect(r.headers.get(MAINTENANCE_HEADER)).toBeNull();
    const e = await echoOf(r);
    expect(e).toMatchObject({ method: "PUT", path: "/api/orders/42", query: "?expand=items&x=%C3%B1", body: payload });
    expect(e.headers).toMatchObject({ "content-type": "application/json", "x-request-id": "abc-123", authorization: "Bearer user-token" });
  });

  it("streams a large request body through intact", async () => {
    const big = "x".repeat(1024 * 1024);
    const e = await echoOf(await w.fetch("normal", "/upload", { method: "POST", body: big }));
    expect(e.body.length).toBe(big.length);
    expect(createHash("sha256").update(e.body).digest("hex")).toBe(createHash("sha256").update(big).digest("hex"));
  });

  it("streams the response: the first chunk arrives while the origin is still writing", async () => {
    const r = await w.fetch("streaming", "/live");
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first chunk\n");
    stream.release();
    let rest = "";
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    expect(rest).toBe("last chunk\n");
  });

  it("passes 4xx answers and redirects through as the origin sent them", async () => {
    const notFound = await w.fetch("normal", "/status/404/missing");
    expect(notFound.status).toBe(404);
    expect((await echoOf(notFound)).path).toBe("/status/404/missing");
    const redirect = await w.fetch("normal", "/status/302", { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/elsewhere");
    await redirect.body?.cancel();
  });

  it("strips the bypass header before forwarding, valid or not", async () => {
    for (const token of [TOKEN, "wrong"]) {
      const e = await echoOf(await w.fetch("normal", "/", { headers: { [BYPASS_HEADER]: token } }));
      expect(e.headers[BYPASS_HEADER]).toBeUndefined();
    }
  });
});

describe("forced maintenance (MAINTENANCE=on)", () => {
  it("answers every page with the maintenance page and never calls the origin", async () => {
    const before = echo.hits;
    for (const path of ["/", "/live/room-7?ref=ig", "/checkout"]) await expectMaintenancePage(await w.fetch("maintenance", path));
    await expectMaintenancePage(await w.fetch("maintenance", "/orders", { method: "POST", body: "x=1" }));
    expect(echo.hits).toBe(before);
  });

  it("serves a self-contained page: inline CSS, no scripts, no external resources", async () => {
    const r = await w.fetch("maintenance", "/");
    expect(r.headers.get("content-security-policy")).toMatch(/^default-src 'none'; style-src 'unsafe-inline'/);
    const body = await expectMaintenancePage(r);
    expect(body).not.toMatch(/<script|\bsrc=|https?:\/\/|@import|url\((?!#)/i);
    expect(body).toContain("<style>");
  });

  it("answers HEAD with headers only", async () => {
    const r = await w.fetch("maintenance", "/", { method: "HEAD" });
    expect(r.status).toBe(503);
    expect(r.headers.get(MAINTENANCE_HEADER)).toBe("1");
    expect(await r.text()).toBe("");
  });

  it("answers API paths with JSON", async () => {
    for (const path of ["/api", "/api/products?limit=1"]) {
      const r = await w.fetch("maintenance", path);
      expect(r.status).toBe(503);
      expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(r.headers.get("retry-after")).toBe(String(RETRY_AFTER_SECONDS));
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(await r.json()).toEqual({ error: "maintenance", message: expect.stringContaining("mantenimiento"), retryAfterSeconds: RETRY_AFTER_SECONDS });
    }
    const en = await w.fetch("maintenance", "/api/orders", { headers: { "accept-language": "en-GB,en;q=0.9" } });
    expect(((await en.json()) as { message: string }).message).toContain("maintenance");
  });

  it("answers Meta's webhook with a plain 503 so Meta retries the delivery later", async () => {
    for (const path of ["/webhooks/meta", "/webhooks/meta/instagram"]) {
      const r = await w.fetch("maintenance", path, { method: "POST", headers: { "content-type": "application/json" }, body: '{"entry":[]}' });
      expect(r.status).toBe(503);
      expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(r.headers.get("retry-after")).toBe(String(RETRY_AFTER_SECONDS));
      expect(await r.text()).toBe("Service temporarily unavailable; retry later.\n");
    }
  });

  it.each([
    [undefined, "es"],
    ["en-US,en;q=0.9", "en"],
    ["fr-FR, fr;q=0.9, en;q=0.5", "en"],
    ["en;q=0.4, es-CL;q=0.8", "es"],
    ["es-MX,es;q=0.9,en;q=0.8", "es"],
    ["EN", "en"],
    ["en;q=0", "es"],
    ["de, *;q=0.5", "es"],
  ] as const)("chooses the language for Accept-Language %p: %s", async (acceptLanguage, lang) => {
    const headers: Record<string, string> = acceptLanguage ? { "accept-language": acceptLanguage } : {};
    await expectMaintenancePage(await w.fetch("maintenance", "/", { headers }), lang);
  });

  it("lets the page's language link override Accept-Language", async () => {
    const body = await expectMaintenancePage(await w.fetch("maintenance", "/?lang=en", { headers: { "accept-language": "es" } }), "en");
    expect(body).toContain('href="?lang=es"');
    await expectMaintenancePage(await w.fetch("maintenance", "/?lang=es", { headers: { "accept-language": "en" } }), "es");
  });
});

describe("the maintenance hostname (the load balancer's fallback origin)", () => {
  it("gets the page at once, without any subrequest, even with the bypass token", async () => {
    const before = echo.hits;
    await expectMaintenancePage(await w.fetch("fallbackHost", "/"));
    await expectMaintenancePage(await w.fetch("fallbackHost", "/healthz", { headers: bypass }));
    expect(echo.hits).toBe(before);
  });

  it("leaves every other hostname to the normal path", async () => {
    const r = await w.fetch("otherFallbackHost", "/live?x=1");
    expect(r.status).toBe(200);
    expect(await echoOf(r)).toMatchObject({ path: "/live", query: "?x=1" });
  });
});

describe("automatic isolation of a failing origin", () => {
  it("replaces a 500 with the maintenance page and never leaks the origin's body or headers", async () => {
    const r = await w.fetch("failing", "/");
    expect(r.headers.get("x-origin")).toBeNull();
    const body = await expectMaintenancePage(r);
    expect(body).not.toContain("hunter2");
    expect(body).not.toContain("STACKTRACE");
    expect(failing.hits).toBeGreaterThan(0);
  });

  it("isolates every 5xx status and each kind of client", async () => {
    for (const status of [500, 502, 503, 504, 599]) await expectMaintenancePage(await w.fetch("normal", `/status/${status}`));
    const api = await w.fetch("failing", "/api/products");
    expect(api.status).toBe(503);
    expect(await api.text()).not.toContain("hunter2");
    const hook = await w.fetch("failing", "/webhooks/meta", { method: "POST", body: "{}" });
    expect(hook.status).toBe(503);
    expect(await hook.text()).toBe("Service temporarily unavailable; retry later.\n");
  });

  it("serves the page when the origin times out (ORIGIN_TIMEOUT_MS)", async () => {
    const started = Date.now();
    await expectMaintenancePage(await w.fetch("hanging", "/"));
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("serves the page when the origin cannot be reached", async () => {
    await expectMaintenancePage(await w.fetch("unreachable", "/"));
  });

  it("logs each isolation without the query string", async () => {
    await w.fetch("failing", "/checkout?email=buyer@example.com");
    await new Promise((r) => setTimeout(r, 200));
    expect(w.logs).toContain("drp-maintenance: origin answered 500 for GET /checkout; serving maintenance");
    expect(w.logs.join("\n")).not.toContain("buyer@example.com");
  });
});

describe("smoke bypass token", () => {
  it("reaches the origin through forced maintenance with the right token, header stripped", async () => {
    const before = echo.hits;
    const r = await w.fetch("maintenance", "/healthz?deep=1", { headers: bypass });
    expect(r.status).toBe(200);
    expect(r.headers.get(MAINTENANCE_HEADER)).toBeNull();
    const e = await echoOf(r);
    expect(e).toMatchObject({ path: "/healthz", query: "?deep=1" });
    expect(e.headers[BYPASS_HEADER]).toBeUndefined();
    expect(echo.hits).toBe(before + 1);
  });

  it("answers a wrong or missing token exactly like an ordinary visitor: no hint", async () => {
    const plain = await (await w.fetch("maintenance", "/")).text();
    for (const token of ["wrong", TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), TOKEN.replace("bypass", "bypasz")]) {
      const r = await w.fetch("maintenance", "/", { headers: { [BYPASS_HEADER]: token } });
      expect(await expectMaintenancePage(r)).toBe(plain);
    }
  });

  it("is disabled when the secret is unset or empty", async () => {
    for (const name of ["noSecret", "emptySecret"])
      for (const token of ["", "anything", TOKEN]) await expectMaintenancePage(await w.fetch(name, "/", { headers: { [BYPASS_HEADER]: token } }));
  });

  it("shows the smoke gate the origin's real failure: 5xx, timeout, unreachable", async () => {
    const r500 = await w.fetch("failing", "/", { headers: bypass });
    expect(r500.status).toBe(500);
    expect(await r500.text()).toBe(SECRET_ERROR_BODY);

    const timeout = await w.fetch("hanging", "/", { headers: bypass });
    expect(timeout.status).toBe(504);
    expect(timeout.headers.get("x-drp-origin-error")).toBe("timeout");
    expect(await timeout.text()).toContain("no response headers within 300 ms");

    const down = await w.fetch("unreachable", "/", { headers: bypass });
    expect(down.status).toBe(502);
    expect(down.headers.get("x-drp-origin-error")).toBe("unreachable");
    await down.body?.cancel();
  });

  it("keeps failures hidden from a wrong token", async () => {
    const r = await w.fetch("failing", "/", { headers: { [BYPASS_HEADER]: "wrong" } });
    expect(await expectMaintenancePage(r)).not.toContain("hunter2");
  });
});

describe("bad binding values fail closed", () => {
  it("an unreadable MAINTENANCE serves maintenance, and the bypass still reaches the origin", async () => {
    await expectMaintenancePage(await w.fetch("badMaintenance", "/"));
    expect((await w.fetch("badMaintenance", "/", { headers: bypass })).status).toBe(200);
  });

  it("an unusable ORIGIN_URL serves maintenance, and tells the bypass why", async () => {
    await expectMaintenancePage(await w.fetch("badOrigin", "/"));
    const r = await w.fetch("badOrigin", "/", { headers: bypass });
    expect(r.status).toBe(502);
    expect(await r.text()).toContain('ORIGIN_URL="ftp://origin.example.com" must use http or https');
  });
});

describe("bundleWorker", () => {
  it("is one deterministic ES module with a matching hash and no machine paths", () => {
    const b = bundleWorker();
    expect(bundleWorker()).toBe(b);
    expect(b.sha256).toBe(createHash("sha256").update(b.code).digest("hex"));
    expect(b.code).toMatch(/export \{\s*\w+ as default\s*\};?\s*$/);
    expect(b.code).not.toContain(process.cwd());
    expect(b.code).not.toMatch(/\b(require|__dirname|process\.env)\b/);
  });
});
