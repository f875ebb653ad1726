/**
 * `drp chaos run`: the four scenarios on the drill environment (real PostgreSQL, the production Worker in
 * workerd, the storefront and its stand-in dependencies behind real TCP fault proxies), at time scale 10.
 * Several scenarios share one environment (runLocalScenario), as they would share a staging deploy.
 * --cloud runs against __tests__/harness/fis-api.ts, a local server speaking the FIS REST/JSON protocol
 * the SDK uses: moto 5.2.1 implements FIS template create/delete and tags but not StartExperiment,
 * GetExperiment or StopExperiment.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCENARIO_TAG_KEY } from "../../constructs/chaos-experiments/scenarios";
import type { Journal } from "../../scripts/chaos/experiment";
import { startChaosEnvironment, type ChaosEnvironment } from "../../scripts/chaos/local";
import { journalPaths, localEnvironmentOptions, runLocalScenario } from "../../scripts/chaos/run";
import { scaledFigures } from "../../scripts/chaos/scenarios";
import { exited, oneLineError, runDrp, runDrpInProcess, spawnDrp } from "../harness/cli";
import { startFakeFis, type FakeFis } from "../harness/fis-api";
import { startOrigin, type Origin } from "../harness/origins";
import { signatureValid } from "../../scripts/drill/storefront";

jest.setTimeout(120_000);
const work = mkdtempSync(join(tmpdir(), "drp-chaos-run-"));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));
const f = scaledFigures(10);
const probe = (j: Journal, phase: "before" | "during" | "after", name: RegExp) => j.probes[phase].find((p) => name.test(p.name));

describe("the four scenarios on the drill environment", () => {
  let env: ChaosEnvironment;
  beforeAll(async () => {
    env = await startChaosEnvironment(localEnvironmentOptions(f, []));
  });
  afterAll(() => env?.stop());

  it("webhook-disconnect: every delivery answered 200 while the origin refuses, buffered, then replayed: none lost", async () => {
    const j = await runLocalScenario(env, "webhook-disconnect", f, journalPaths(join(work, "j"), "webhook-disconnect"));
    expect(j.reason).toBe("every probe held before, during and after the fault");
    expect(j.verdict).toBe("held");
    const during = probe(j, "during", /buffered at the edge/)!;
    expect(during.evidence.buffered).toBe(during.evidence.sent);
    const lost = probe(j, "after", /none lost/)!;
    expect(lost.evidence).toMatchObject({ lost: 0 });
    expect(lost.evidence.replayed).toBeGreaterThanOrEqual(during.evidence.sent as number);
    expect(env.proxies.origin.fault).toBeNull();
    // The journal on disk is the same object, and the report says the verdict.
    expect(JSON.parse(readFileSync(j.paths.json, "utf8")).verdict).toBe("held");
    expect(readFileSync(j.paths.report, "utf8")).toContain("hypothesis HELD");
  });

  it("ai-latency: replies fall back within the bound while the AI takes 30 s (scaled), the product list stays fast", async () => {
    const j = await runLocalScenario(env, "ai-latency", f, journalPaths(join(work, "j"), "ai-latency"));
    expect(j.reason).toBe("every probe held before, during and after the fault");
    const replies = probe(j, "during", /replies/)!;
    expect(replies.evidence.sources).toEqual({ fallback: replies.evidence.requests });
    expect(replies.evidence.slowestMs as number).toBeLessThanOrEqual(f.replyBoundMs);
    expect(probe(j, "during", /product list/)!.ok).toBe(true);
    expect(probe(j, "after", /replies/)!.evidence.sources).toEqual({ ai: 4 });
    expect(j.fault.injectedAt! < j.fault.rolledBackAt!).toBe(true);
  });

  it("payment-down: checkout offers bank transfer within the bound while the gateway is blackholed; no order lost", async () => {
    const j = await runLocalScenario(env, "payment-down", f, journalPaths(join(work, "j"), "payment-down"));
    expect(j.reason).toBe("every probe held before, during and after the fault");
    const during = probe(j, "during", /bank transfer/)!;
    expect(during.evidence.payments).toEqual({ bank_transfer: during.evidence.requests });
    expect(probe(j, "after", /none lost/)!.evidence).toMatchObject({ lost: 0 });
    const states = await env.query<{ state: string }>("SELECT DISTINCT state FROM order_states ORDER BY state");
    expect(states.map((s) => s.state)).toEqual(["awaiting_bank_transfer", "awaiting_payment", "paid"]);
  });

  it("comment-spike: 5,000/min (for 6 s at scale 10) accepted with bounded p99, every comment stored", async () => {
    const j = await runLocalScenario(env, "comment-spike", f, journalPaths(join(work, "j"), "comment-spike"));
    expect(j.reason).toBe("every probe held before, during and after the fault");
    const spike = probe(j, "during", /spike/)!;
    expect(spike.evidence.sent as number).toBeGreaterThanOrEqual(450);
    expect(probe(j, "after", /none lost/)!.evidence).toMatchObject({ lost: 0, accepted: spike.evidence.accepted });
  });
});

describe("a stand-in without its safeguard makes the experiment deviate, with the evidence", () => {
  let env: ChaosEnvironment;
  beforeAll(async () => {
    env = await startChaosEnvironment(localEnvironmentOptions(f, ["ai-timeout", "bank-transfer-fallback"]));
  });
  afterAll(() => env?.stop());

  it("ai-latency deviates when the AI call has no deadline: replies wait for the AI", async () => {
    const j = await runLocalScenario(env, "ai-latency", f, journalPaths(join(work, "j"), "ai-latency"));
    expect(j.verdict).toBe("deviated");
    expect(j.reason).toBe("deviated: during comment replies (AI or fallback) within the bound");
    expect(probe(j, "during", /replies/)!.evidence.slowestMs as number).toBeGreaterThan(f.replyBoundMs);
    expect(j.fault.rolledBackAt).not.toBeNull();
  });

  it("payment-down deviates when checkout has no bank-transfer fallback: the customer gets the maintenance page, orders still stored", async () => {
    const j = await runLocalScenario(env, "payment-down", f, journalPaths(join(work, "j"), "payment-down"));
    expect(j.verdict).toBe("deviated");
    // The app answers 502; the Worker treats an origin 5xx as a failure and serves the maintenance page (503).
    expect(probe(j, "during", /bank transfer/)!.evidence.statuses).toEqual({ "503": expect.any(Number) });
    expect(probe(j, "after", /none lost/)!.ok).toBe(true);
  });
});

describe("drp chaos run (the CLI)", () => {
  it("stops before any fault when the steady state does not hold (the app cannot reach its database): exit 1", async () => {
    const r = await runDrp(["chaos", "run", "payment-down", "--time-scale", "10", "--break-stand-in", "database", "--journal", join(work, "ss"), "--json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as Journal;
    expect(j).toMatchObject({ verdict: "deviated", stoppedBeforeFault: true, fault: { injectedAt: null, rolledBackAt: null } });
    expect(j.reason).toMatch(/^steady state did not hold before injection .*: no fault injected$/);
    expect(j.probes.during).toEqual([]);
    expect(readdirSync(join(work, "ss")).sort()).toEqual([expect.stringMatching(/^payment-down-.*\.json$/), expect.stringMatching(/^payment-down-.*\.md$/)]);
  });

  it("Ctrl-C mid-fault rolls back, writes the journal and exits 130; the proxy is gone, PostgreSQL stopped and removed", async () => {
    const dir = join(work, "int");
    // A temporary directory of its own (reachable by the postgres user), to see what is left in it.
    const tmp = mkdtempSync(join(work, "tmp-int-"));
    chmodSync(tmp, 0o755);
    const child = spawnDrp(["chaos", "run", "ai-latency", "--journal", dir], { TMPDIR: tmp });
    const done = exited(child);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!stderr.includes("probes during") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    const j = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((n) => n.endsWith(".json"))!), "utf8")) as Journal;
    expect(j.interrupted).toBe("SIGINT");
    expect(j.fault.injectedAt).not.toBeNull();
    expect(j.fault.rolledBackAt).not.toBeNull();
    expect(j.verdict).toBe("deviated");
    const proxies = j.settings.proxies as Record<string, string>;
    await expect(fetch(`${proxies.ai}/v1/chat/completions`, { method: "POST", signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(readdirSync(tmp)).toEqual([]);
    expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(tmp))).toEqual([]);
  });

  it.each([
    [["chaos", "run", "network-storm"], /^drp: unknown scenario "network-storm"; use one of webhook-disconnect, ai-latency, payment-down, comment-spike$/],
    [["chaos", "run", "ai-latency", "--cloud"], /^drp: --cloud needs --target URL/],
    [["chaos", "run", "ai-latency", "--target", "https://staging.example.com"], /^drp: locally the fault is injected only in the drill environment .* add --cloud/],
    [["chaos", "run", "ai-latency", "--time-scale", "50"], /^drp: --time-scale "50" is not valid; use a number from 1 to 10$/],
    [["chaos", "run", "ai-latency", "--break-stand-in", "everything"], /^drp: --break-stand-in "everything" is unknown/],
    [["chaos", "run", "ai-latency", "--target", "not a url", "--cloud"], /^drp: --target "not a url" is not a URL/],
  ])("bad input %j: one line naming the fix, exit 2, nothing started", async (args, message) => {
    const r = await runDrpInProcess(args as string[]);
    expect(r.error?.exitCode).toBe(2);
    expect(`drp: ${r.error!.message}`).toMatch(message);
  });

  it("an unknown flag is exit 2 with one line", async () => {
    const r = await runDrp(["chaos", "run", "ai-latency", "--fault", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--fault'/);
  });
});

describe("drp chaos run --cloud (FIS API harness)", () => {
  let fis: FakeFis;
  let site: Origin;
  let healthy = true;
  let signed = 0;
  const SECRET = "chaos-app-secret";
  const env = () => ({ AWS_ENDPOINT_URL_FIS: fis.url, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" });
  beforeAll(async () => {
    fis = await startFakeFis({
      templates: [
        { id: "EXT1other", tags: { [SCENARIO_TAG_KEY]: "ai-latency" } },
        { id: "EXT2payment", description: "payment-down: blackhole the gateways", tags: { [SCENARIO_TAG_KEY]: "payment-down", Name: "x" } },
      ],
    });
    // The public site the probes check (the deployed app behind the edge).
    site = await startOrigin((req, res) => {
      if (req.method === "POST" && req.url === "/webhooks/meta") {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const ok = signatureValid(Buffer.concat(chunks), req.headers["x-hub-signature-256"] as string | undefined, SECRET);
          if (ok) signed++;
          res.writeHead(ok ? 200 : 403).end(ok ? "EVENT_RECEIVED" : "bad signature");
        });
        return;
      }
      res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(req.url?.startsWith("/api/products") ? '{"products":[]}' : '{"ok":true}');
    });
  });
  afterAll(async () => {
    await fis?.stop();
    await site?.close();
  });
  const run = (scenario: string, journal: string) => runDrp(["chaos", "run", scenario, "--cloud", "--target", site.url, "--poll-ms", "50", "--journal", join(work, journal), "--json"], env());

  it("finds the template by its tag, starts it, polls it to completed: held, exit 0", async () => {
    fis.state.script = [{ status: "running" }, { status: "running" }, { status: "completed" }];
    const r = await run("payment-down", "cloud-ok");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Journal;
    expect(j).toMatchObject({ mode: "cloud", verdict: "held", settings: { templateId: "EXT2payment" } });
    const fisProbe = probe(j, "during", /FIS experiment/)!;
    expect(fisProbe.evidence).toMatchObject({ status: "completed", states: ["initiating", "running", "completed"], templateId: "EXT2payment" });
    const start = fis.requests.find((q) => q.method === "POST")!;
    expect(start.path).toBe("/experiments");
    expect(start.body).toMatchObject({ experimentTemplateId: "EXT2payment", tags: { [SCENARIO_TAG_KEY]: "payment-down" }, clientToken: expect.any(String) });
    expect(start.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\/\d+\/us-east-1\/fis\/aws4_request/);
    expect(fis.requests.some((q) => q.method === "DELETE")).toBe(false);
  });

  it("a failed experiment is a deviation with FIS's reason: exit 1", async () => {
    fis.state.script = [{ status: "running" }, { status: "failed", reason: "Target resolution failed" }];
    const r = await run("ai-latency", "cloud-failed");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as Journal;
    expect(j.verdict).toBe("deviated");
    expect(probe(j, "during", /FIS experiment/)!.detail).toContain("running -> failed (Target resolution failed)");
  });

  it("an experiment stopped by a stop condition is a deviation: exit 1", async () => {
    fis.state.script = [{ status: "stopped", reason: "Experiment stopped by stop condition: alarm chaos-latency" }];
    const r = await run("ai-latency", "cloud-stopped");
    expect(r.code).toBe(1);
    expect(probe(JSON.parse(r.stdout) as Journal, "during", /FIS experiment/)!.evidence).toMatchObject({ status: "stopped" });
  });

  it("an unhealthy target stops the run before the experiment starts", async () => {
    healthy = false;
    const before = fis.requests.filter((q) => q.method === "POST").length;
    try {
      const r = await run("payment-down", "cloud-unhealthy");
      expect(r.code).toBe(1);
      expect((JSON.parse(r.stdout) as Journal).stoppedBeforeFault).toBe(true);
      expect(fis.requests.filter((q) => q.method === "POST").length).toBe(before);
    } finally {
      healthy = true;
    }
  });

  it("Ctrl-C stops the running experiment (StopExperiment) and exits 130", async () => {
    fis.state.script = [{ status: "running" }];
    const child = spawnDrp(["chaos", "run", "payment-down", "--cloud", "--target", site.url, "--poll-ms", "100", "--journal", join(work, "cloud-int")], env());
    const done = exited(child);
    const deadline = Date.now() + 30_000;
    while (![...fis.experiments.values()].some((e) => e.status === "running" && !e.stopped) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    expect(fis.requests.filter((q) => q.method === "DELETE")).toHaveLength(1);
    const dir = join(work, "cloud-int");
    const j = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((n) => n.endsWith(".json"))!), "utf8")) as Journal;
    expect(j).toMatchObject({ interrupted: "SIGINT", fault: { evidence: { status: "stopped" } } });
    expect(j.fault.rolledBackAt).not.toBeNull();
  });

  it("an experiment FIS refuses to start is a failed injection: exit 1, nothing to roll back", async () => {
    fis.state.startError = "The experiment template's role cannot be assumed";
    try {
      const r = await run("ai-latency", "cloud-refused");
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout) as Journal;
      expect(j).toMatchObject({ verdict: "deviated", fault: { injectedAt: null, rolledBackAt: null } });
      expect(j.reason).toBe("could not inject: The experiment template's role cannot be assumed");
      expect(j.probes.during).toEqual([]);
    } finally {
      delete fis.state.startError;
    }
  });

  it("webhook-disconnect in the cloud sends signed deliveries to --target as a probe, and needs the app secret", async () => {
    const missing = await runDrp(["chaos", "run", "webhook-disconnect", "--cloud", "--target", site.url], { ...env(), META_APP_SECRET: undefined });
    expect(missing.code).toBe(2);
    expect(oneLineError(missing)).toBe("drp: --cloud webhook-disconnect probes the webhook path with signed deliveries: set META_APP_SECRET (or pass --secret)");
    fis.state.templates.push({ id: "EXT3webhooks", tags: { [SCENARIO_TAG_KEY]: "webhook-disconnect" } });
    fis.state.script = [{ status: "running" }, { status: "completed" }];
    const r = await runDrp(["chaos", "run", "webhook-disconnect", "--cloud", "--target", site.url, "--poll-ms", "50", "--journal", join(work, "cloud-wh"), "--json"], { ...env(), META_APP_SECRET: SECRET });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Journal;
    expect(probe(j, "before", /webhook/)!.evidence).toMatchObject({ sent: 3, accepted: 3 });
    // The site verified each signature with the same secret (a bad one is answered 403).
    expect(signed).toBeGreaterThanOrEqual(9);
  });

  it("no template tagged for the scenario: one line naming the fix, exit 1, nothing started", async () => {
    const before = fis.requests.filter((q) => q.method === "POST").length;
    const r = await runDrp(["chaos", "run", "comment-spike", "--cloud", "--target", site.url, "--journal", join(work, "cloud-none")], { ...env(), META_APP_SECRET: SECRET });
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toBe(`drp: no FIS experiment template is tagged ${SCENARIO_TAG_KEY}=comment-spike in this account and region; deploy the chaos stack (cdktf deploy chaos -c chaos=on) or set AWS_REGION`);
    expect(fis.requests.filter((q) => q.method === "POST").length).toBe(before);
  });
});
