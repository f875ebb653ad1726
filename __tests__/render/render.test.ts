/** Restoring service on Render against a local server speaking Render's documented API. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../constructs/config";
import { rateLimitWait, renderApi } from "../../scripts/render/api";
import { planRender, runRender, type RenderService } from "../../scripts/render/restore";
import { oneLineError, runDrp } from "../harness/cli";
import { startFakeRender, type FakeRender } from "../harness/render-api";

const WEB: RenderService = { id: "srv-web0123456789abcdef", name: "web" };
const WORKER: RenderService = { id: "srv-wrk0123456789abcdef", name: "worker" };
const IMAGE = `ghcr.io/livestreamsell/app@sha256:${"ab".repeat(32)}`;
let render: FakeRender;
let tmp: string;
let configFile: string;

beforeAll(async () => {
  render = await startFakeRender();
  tmp = mkdtempSync(join(tmpdir(), "drp-render-"));
  configFile = join(tmp, "drp.config.json");
  const base = loadConfig();
  writeFileSync(configFile, JSON.stringify({ ...base, app: { ...base.app, digest: `sha256:${"ab".repeat(32)}` }, render: { services: [WEB, WORKER], apiUrl: render.url, deployTimeoutMinutes: 1, pollSeconds: 0.05 } }));
});

afterAll(async () => {
  await render?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  render.requests.length = 0;
  render.state.rateLimitNext = 0;
  render.state.retryAfterSeconds = 1;
  render.state.services = {
    [WEB.id]: { statuses: ["created", "build_in_progress", "update_in_progress", "live"] },
    [WORKER.id]: { statuses: ["queued", "update_in_progress", "live"] },
  };
});

const api = (sleep?: (ms: number) => Promise<void>) => renderApi(render.url, render.key, sleep ? { sleep } : {});
const deploy = (overrides: { timeoutMs?: number; sleep?: (ms: number) => Promise<void> } = {}) =>
  runRender({ api: api(overrides.sleep), plan: planRender("deploy", [WEB, WORKER], IMAGE), timeoutMs: overrides.timeoutMs ?? 10_000, pollMs: 20 });

describe("Render restore", () => {
  it("deploys the image by digest to every service and follows each deploy until live", async () => {
    const seen: string[] = [];
    const out = await runRender({ api: api(), plan: planRender("deploy", [WEB, WORKER], IMAGE), timeoutMs: 10_000, pollMs: 20, onStatus: (s, st) => seen.push(`${s.name}:${st}`) });
    expect(out.ok).toBe(true);
    expect(out.services.map((s) => [s.name, s.ok, s.status])).toEqual([
      ["web", true, "live"],
      ["worker", true, "live"],
    ]);
    const posts = render.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => [r.path, r.body, r.authorization])).toEqual([
      [`/v1/services/${WEB.id}/deploys`, { imageUrl: IMAGE }, `Bearer ${render.key}`],
      [`/v1/services/${WORKER.id}/deploys`, { imageUrl: IMAGE }, `Bearer ${render.key}`],
    ]);
    expect(render.requests.filter((r) => r.method === "GET" && r.path.startsWith(`/v1/services/${WEB.id}/deploys/dep-`))).toHaveLength(3);
    expect(seen.filter((x) => x.startsWith("web:"))).toEqual(["web:created", "web:build_in_progress", "web:update_in_progress", "web:live"]);
  });

  it("reports a failed deploy by name and status while the other service still goes live", async () => {
    render.state.services[WORKER.id].statuses = ["created", "update_in_progress", "update_failed"];
    const out = await deploy();
    expect(out.ok).toBe(false);
    const [web, worker] = out.services;
    expect(web).toMatchObject({ ok: true, status: "live" });
    expect(worker).toMatchObject({ ok: false, status: "update_failed" });
    expect(worker.error).toMatch(/^deploy dep-\d+ of worker \(srv-wrk0123456789abcdef\) ended update_failed; read its logs in the Render dashboard/);
  });

  it("gives up on a deploy that never goes live, naming the last status", async () => {
    render.state.services[WEB.id].statuses = ["created", "build_in_progress"];
    const out = await deploy({ timeoutMs: 300 });
    expect(out.services[0]).toMatchObject({ ok: false, status: "timeout" });
    expect(out.services[0].error).toMatch(/not live after 0 s \(last status build_in_progress\); follow it in the Render dashboard or raise render\.deployTimeoutMinutes/);
    expect(out.services[0].seconds).toBeLessThan(2);
    expect(out.services[1].ok).toBe(true);
  });

  it("waits out 429 rate limits as long as Retry-After says, then succeeds", async () => {
    render.state.rateLimitNext = 2;
    render.state.retryAfterSeconds = 1;
    const waits: number[] = [];
    const out = await deploy({ sleep: async (ms) => void waits.push(ms) });
    expect(out.ok).toBe(true);
    expect(waits.slice(0, 2)).toEqual([1000, 1000]);
    expect(render.requests.filter((r) => r.method === "POST")).toHaveLength(4);
  });

  it("really waits for Ratelimit-Reset when no Retry-After is sent", async () => {
    render.state.rateLimitNext = 1;
    render.state.retryAfterSeconds = null;
    const out = await runRender({ api: api(), plan: planRender("deploy", [WEB], IMAGE), timeoutMs: 10_000, pollMs: 20 });
    expect(out.ok).toBe(true);
    const [limited, retried] = render.requests.filter((r) => r.method === "POST");
    // The reset is at least one whole second ahead in epoch seconds.
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(900);
  });

  it("reads Retry-After, Ratelimit-Reset (epoch seconds or a delay) and falls back to backoff with jitter", () => {
    const now = 1_800_000_000_000;
    expect(rateLimitWait(new Headers({ "retry-after": "7" }), 0, now)).toBe(7000);
    expect(rateLimitWait(new Headers({ "ratelimit-reset": String(now / 1000 + 12) }), 0, now)).toBe(12_000);
    expect(rateLimitWait(new Headers({ "ratelimit-reset": "45" }), 0, now)).toBe(45_000);
    expect(rateLimitWait(new Headers(), 3, now, () => 1)).toBe(4000);
    expect(rateLimitWait(new Headers(), 3, now, () => 0)).toBe(2000);
  });

  it("restarts every service", async () => {
    const out = await runRender({ api: api(), plan: planRender("restart", [WEB, WORKER], IMAGE), timeoutMs: 1000, pollMs: 20 });
    expect(out).toMatchObject({ ok: true, imageUrl: null });
    expect(render.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1/services/${WEB.id}/restart`, `POST /v1/services/${WORKER.id}/restart`]);
  });
});

describe("render configuration", () => {
  it("names a bad service ID and an empty service list", () => {
    const base = JSON.parse(JSON.stringify(loadConfig()));
    const { parseConfig } = require("../../constructs/config") as typeof import("../../constructs/config");
    expect(() => parseConfig({ ...base, render: { services: [{ id: "web", name: "web" }] } }, "x.json")).toThrow(
      "invalid configuration in x.json:\n  render.services.0.id: must be a Render service ID such as srv-abc123def456ghi789jk",
    );
    expect(() => parseConfig({ ...base, render: { services: [] } }, "x.json")).toThrow(/render\.services: /);
  });
});

describe("drp render (CLI)", () => {
  const env = () => ({ DRP_CONFIG: configFile, RENDER_API_KEY: render.key });

  it("dry-runs by default: prints the requests and sends nothing", async () => {
    const r = await runDrp(["render", "deploy", "--json"], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: true, mode: "deploy", imageUrl: IMAGE, requests: [{ path: `/v1/services/${WEB.id}/deploys`, body: { imageUrl: IMAGE } }, {}] });
    expect(render.requests).toEqual([]);
  });

  it("deploys with --confirm and exits 0 when every service is live", async () => {
    const r = await runDrp(["render", "deploy", "--confirm"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {5}web \(srv-web0123456789abcdef\): live dep-\d+ after [\d.]+ s$/m);
  });

  it("exits 1 naming the service whose deploy failed", async () => {
    render.state.services[WEB.id].statuses = ["created", "build_failed"];
    const r = await runDrp(["render", "deploy", "--confirm", "--digest", `sha256:${"cd".repeat(32)}`], env());
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toBe("drp: Render deploy failed for web (build_failed)");
    expect(render.requests[0].body).toEqual({ imageUrl: `ghcr.io/livestreamsell/app@sha256:${"cd".repeat(32)}` });
  });

  it("is bad input (exit 2) without an API key, with a bad digest or an unknown service, and sends nothing", async () => {
    const noKey = await runDrp(["render", "restart", "--confirm"], { ...env(), RENDER_API_KEY: undefined });
    expect([noKey.code, oneLineError(noKey)]).toEqual([2, expect.stringMatching(/^drp: RENDER_API_KEY is not set; create an API key/)]);
    const digest = await runDrp(["render", "deploy", "--digest", "latest"], env());
    expect([digest.code, oneLineError(digest)]).toEqual([2, 'drp: --digest "latest" is not an image digest; use sha256:<64 hex digits>']);
    const svc = await runDrp(["render", "deploy", "--service", "srv-nope0000000000"], env());
    expect([svc.code, oneLineError(svc)]).toEqual([2, expect.stringMatching(/^drp: --service srv-nope0000000000 is not in render\.services/)]);
    expect(render.requests).toEqual([]);
  });
});

describe("Render compute adapter (restore-service step)", () => {
  const withRender = () => {
    const base = loadConfig();
    return { ...base, render: { services: [WEB, WORKER], apiUrl: render.url, deployTimeoutMinutes: 1, pollSeconds: 0.02 } };
  };

  it("describes its requests, restores every service and returns each outcome", async () => {
    const { renderCompute } = await import("../../scripts/render/adapter");
    const adapter = renderCompute(withRender(), { env: { RENDER_API_KEY: render.key } });
    expect(adapter.describe()).toEqual([
      `web: POST ${render.url}/v1/services/${WEB.id}/deploys {"imageUrl":"${loadConfig().app.image}@${loadConfig().app.digest}"}`,
      `worker: POST ${render.url}/v1/services/${WORKER.id}/deploys {"imageUrl":"${loadConfig().app.image}@${loadConfig().app.digest}"}`,
    ]);
    const out = await adapter.restoreService();
    expect(out.services.map((s) => s.status)).toEqual(["live", "live"]);
  });

  it("fails the step naming the service that did not go live and why", async () => {
    const { renderCompute } = await import("../../scripts/render/adapter");
    render.state.services[WORKER.id].statuses = ["created", "build_failed"];
    const adapter = renderCompute(withRender(), { env: { RENDER_API_KEY: render.key } });
    await expect(adapter.restoreService()).rejects.toThrow(/^Render deploy failed for worker \(deploy dep-\d+ of worker \(srv-wrk0123456789abcdef\) ended build_failed; /);
  });
});
