/**
 * The comment spike against real receivers: the drill's storefront over PostgreSQL (which verifies Meta's
 * signature and stores each comment by its id), and the production Worker in workerd in front of it, with
 * the storefront up (straight through) and down (the edge buffer absorbs the spike and replays it later).
 * Rates stay modest (600/min for 5 s); the generator's own speed is the benchmark's business.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "pg";
import { STOREFRONT_SCHEMA, signatureValid, startStorefront, type Storefront } from "../../scripts/drill/storefront";
import { startEdgeWorker, type EdgeWorker } from "../../scripts/lib/workerd";
import { metaCommentBody, spikeCommentId, SPIKE_POST_ID } from "../../scripts/chaos/meta-comments";
import { parseDurationMs, parseRatePerMinute, runSpike, SpikeInputError, type SpikeResult } from "../../scripts/chaos/spike";
import { exited, oneLineError, runDrp, runDrpInProcess, spawnDrp } from "../harness/cli";
import { startOrigin } from "../harness/origins";
import { freePort, startPostgres, type PgServer } from "../harness/postgres";

const SECRET = "meta-app-secret-for-spike-tests-7c21";
const DATABASE = "storefront";
const SPIKE = { ratePerMinute: 600, durationMs: 5_000 } as const;
const ARRIVALS = 50;
const FAST_REPLAY = { REPLAY_RETRY_DELAY_SECONDS: "1", REPLAY_MAX_DELAY_SECONDS: "1" };

let pg: PgServer;
let db: Client;
let storefront: Storefront;

/** Comments of one run stored by the storefront (live and replayed). */
async function stored(runId: string): Promise<{ live: number; replayed: number }> {
  const r = await db.query<{ live: string; replayed: string }>(
    "SELECT count(*) FILTER (WHERE NOT replayed) AS live, count(*) FILTER (WHERE replayed) AS replayed FROM comments WHERE comment_id LIKE $1",
    [`%\\_${runId}%`],
  );
  return { live: Number(r.rows[0].live), replayed: Number(r.rows[0].replayed) };
}

function expectAllAccepted(r: SpikeResult): void {
  expect(r).toMatchObject({ planned: ARRIVALS, sent: ARRIVALS, accepted: ARRIVALS, rejected: 0, failed: 0, aborted: false });
  expect(r.latencyMs.p50).toBeGreaterThan(0);
  expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p95);
  expect(r.latencyMs.p95).toBeLessThanOrEqual(r.latencyMs.p99);
}

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase(DATABASE);
  await pg.sql(DATABASE, STOREFRONT_SCHEMA);
  db = new Client({ connectionString: pg.urlFor(DATABASE) });
  await db.connect();
  storefront = await startStorefront({ name: "primary", databaseUrl: pg.urlFor(DATABASE), appSecret: SECRET });
});

afterAll(async () => {
  await storefront?.stop();
  await db?.end();
  await pg?.stop();
});

describe("the comments it sends", () => {
  it("look like Meta's feed comment notifications, varied, and are signed over the exact bytes", () => {
    const bodies = Array.from({ length: 40 }, (_, i) => metaCommentBody("abc123", i, 1_764_300_000_000));
    const values = bodies.map((b) => (JSON.parse(b) as { object: string; entry: { changes: { field: string; value: Record<string, unknown> }[] }[] }).entry[0].changes[0]);
    for (const [i, c] of values.entries()) {
      expect(c.field).toBe("feed");
      expect(c.value).toMatchObject({ item: "comment", verb: "add", post_id: SPIKE_POST_ID, comment_id: spikeCommentId("abc123", i), created_time: 1_764_300_000 });
      expect(c.value.from).toEqual({ id: expect.stringMatching(/^\d+$/), name: expect.stringMatching(/^\S+ \S+$/) });
    }
    expect(new Set(values.map((c) => c.value.message)).size).toBeGreaterThan(10);
    expect(new Set(values.map((c) => c.value.comment_id)).size).toBe(40);
  });

  it("parses rates and durations as documented", () => {
    expect([parseRatePerMinute("5000/min"), parseRatePerMinute("5000"), parseRatePerMinute("100/s"), parseRatePerMinute("5000/m")]).toEqual([5000, 5000, 6000, 5000]);
    expect([parseDurationMs("60s"), parseDurationMs("60"), parseDurationMs("2m"), parseDurationMs("1500ms")]).toEqual([60_000, 60_000, 120_000, 1_500]);
    for (const bad of ["fast", "5000/h", "-5/min", "0/min", "700000/min"]) expect(() => parseRatePerMinute(bad)).toThrow(SpikeInputError);
    for (const bad of ["soon", "1h", "0s", "500ms", "61m"]) expect(() => parseDurationMs(bad)).toThrow(SpikeInputError);
  });
});

describe("straight to the storefront", () => {
  it("delivers every comment on schedule, and each is stored once", async () => {
    const r = await runSpike({ target: storefront.url, ...SPIKE, secret: SECRET, runId: "direct" });
    expectAllAccepted(r);
    expect(r.buffered).toBe(0);
    expect(r.target).toBe(`${storefront.url}/webhooks/meta`);
    expect(r.achievedPerMinute).toBeGreaterThan(540);
    expect(r.achievedPerMinute).toBeLessThan(660);
    expect(await stored("direct")).toEqual({ live: ARRIVALS, replayed: 0 });
  });

  it("with a wrong secret every comment is rejected 403 and none is stored", async () => {
    const r = await runSpike({ target: storefront.url, ...SPIKE, secret: "not-the-app-secret", runId: "forged" });
    expect(r).toMatchObject({ sent: ARRIVALS, accepted: 0, rejected: ARRIVALS, rejectedByStatus: { "403": ARRIVALS }, failed: 0 });
    expect(await stored("forged")).toEqual({ live: 0, replayed: 0 });
  });

  it("counts a closed port as failed (network), not rejected", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await runSpike({ target: closed, ratePerMinute: 600, durationMs: 1_000, secret: SECRET });
    expect(r).toMatchObject({ sent: 10, accepted: 0, rejected: 0, failed: 10, failedBy: { network: 10, timeout: 0, saturated: 0 } });
  });
});

describe("the schedule is open loop", () => {
  it("keeps sending on schedule while earlier requests wait for slow answers", async () => {
    const slow = await startOrigin((req, res) => {
      req.resume();
      req.on("end", () => setTimeout(() => res.end("EVENT_RECEIVED"), 1_000));
    });
    try {
      const r = await runSpike({ target: slow.url, ratePerMinute: 1_200, durationMs: 2_000, secret: SECRET });
      expect(r).toMatchObject({ sent: 40, accepted: 40, failed: 0 });
      expect(r.latencyMs.p50).toBeGreaterThanOrEqual(1_000);
      // A closed loop would have managed about one request per second per connection; this one kept the rate.
      expect(r.achievedPerMinute).toBeGreaterThan(1_080);
      expect(r.scheduleErrorPct).toBeLessThan(10);
      expect(slow.hits).toBe(40);
    } finally {
      await slow.close();
    }
  });

  it("fails arrivals that find every socket busy at their due time instead of queuing them, and the schedule error shows it", async () => {
    const hanging = await startOrigin((req) => req.resume());
    try {
      const r = await runSpike({ target: hanging.url, ratePerMinute: 1_200, durationMs: 1_000, secret: SECRET, maxInFlight: 3, timeoutMs: 1_500 });
      expect(r).toMatchObject({ sent: 20, accepted: 0, rejected: 0, failed: 20, failedBy: { timeout: 3, network: 0, saturated: 17 } });
      expect(hanging.hits).toBe(3);
      expect(r.scheduleErrorPct).toBeGreaterThan(50);
    } finally {
      await hanging.close();
    }
  });

  it("stops the schedule when its signal aborts, and says so", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_000);
    const r = await runSpike({ target: storefront.url, ratePerMinute: 600, durationMs: 10_000, secret: SECRET, signal: controller.signal, runId: "stopped" });
    expect(r.aborted).toBe(true);
    expect(r.planned).toBe(100);
    expect(r.sent).toBeGreaterThanOrEqual(9);
    expect(r.sent).toBeLessThanOrEqual(12);
    expect(r.accepted).toBe(r.sent);
    expect((await stored("stopped")).live).toBe(r.sent);
  });
});

describe("through the production Worker in workerd", () => {
  let edge: EdgeWorker | undefined;
  afterEach(async () => {
    await edge?.dispose();
    edge = undefined;
  });

  it("with the origin up, the Worker passes every comment through and the storefront stores it", async () => {
    edge = await startEdgeWorker({ originUrl: storefront.url, maintenance: false, appSecret: SECRET });
    const r = await runSpike({ target: edge.url, ...SPIKE, secret: SECRET, runId: "edgeup" });
    expectAllAccepted(r);
    expect(r.buffered).toBe(0);
    expect(await stored("edgeup")).toEqual({ live: ARRIVALS, replayed: 0 });
    const forged = await runSpike({ target: edge.url, ratePerMinute: 600, durationMs: 2_000, secret: "not-the-app-secret", runId: "edgeforged" });
    expect(forged).toMatchObject({ sent: 20, accepted: 0, rejected: 20, rejectedByStatus: { "403": 20 } });
  });

  it("with the origin down, the buffer absorbs the spike (200 EVENT_RECEIVED) and replays every comment once the origin is back", async () => {
    const port = await freePort();
    edge = await startEdgeWorker({ originUrl: `http://127.0.0.1:${port}`, maintenance: false, appSecret: SECRET, extra: FAST_REPLAY });
    const r = await runSpike({ target: edge.url, ...SPIKE, secret: SECRET, runId: "edgedown" });
    expectAllAccepted(r);
    expect(r.buffered).toBe(ARRIVALS);
    // The edge verifies signatures itself while the origin is down: forged comments are refused, not queued.
    const forged = await runSpike({ target: edge.url, ratePerMinute: 600, durationMs: 2_000, secret: "not-the-app-secret", runId: "downforged" });
    expect(forged).toMatchObject({ sent: 20, accepted: 0, buffered: 0, rejected: 20, rejectedByStatus: { "403": 20 } });
    expect(await stored("edgedown")).toEqual({ live: 0, replayed: 0 });

    const back = await startStorefront({ name: "primary-back", databaseUrl: pg.urlFor(DATABASE), appSecret: SECRET, port });
    try {
      const until = Date.now() + 45_000;
      while ((await stored("edgedown")).replayed < ARRIVALS && Date.now() < until) await new Promise((res) => setTimeout(res, 250));
      expect(await stored("edgedown")).toEqual({ live: 0, replayed: ARRIVALS });
      expect(await stored("downforged")).toEqual({ live: 0, replayed: 0 });
    } finally {
      await back.stop();
    }
  });
});

describe("drp chaos spike (the CLI)", () => {
  /** A receiver that counts requests and checks each signature: bad input must reach it zero times. */
  let receiver: Server;
  let receiverUrl: string;
  let hits = 0;
  let validSignatures = 0;
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        hits++;
        if (signatureValid(Buffer.concat(chunks), req.headers["x-hub-signature-256"] as string | undefined, SECRET)) validSignatures++;
        res.end("EVENT_RECEIVED");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it("--json prints one object with the documented fields; the secret comes from META_APP_SECRET", async () => {
    const before = hits;
    const r = await runDrp(["chaos", "spike", "--target", receiverUrl, "--rate", "10/s", "--duration", "2s", "--json"], { META_APP_SECRET: SECRET });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as SpikeResult;
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(out).toMatchObject({ sent: 20, accepted: 20, rejected: 0, failed: 0, ratePerMinute: 600, planned: 20 });
    expect(Object.keys(out.latencyMs).sort()).toEqual(["max", "p50", "p95", "p99"]);
    expect(typeof out.achievedPerMinute).toBe("number");
    expect(typeof out.scheduleErrorPct).toBe("number");
    expect(hits - before).toBe(20);
    expect(validSignatures).toBe(hits);
  });

  it("without --json prints the counts and per-second progress on stderr", async () => {
    const r = await runDrp(["chaos", "spike", "--target", receiverUrl, "--rate", "600/min", "--duration", "2s", "--secret", SECRET]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/accepted 20, rejected 0, failed 0/);
    expect(r.stdout).toMatch(/schedule error [\d.]+%/);
    expect(r.stderr).toMatch(/^1s sent \d+ accepted \d+/m);
  });

  it("Ctrl-C stops the schedule, prints the partial report and exits 130", async () => {
    const before = hits;
    const child = spawnDrp(["chaos", "spike", "--target", receiverUrl, "--rate", "600/min", "--duration", "60s", "--json"], { META_APP_SECRET: SECRET });
    const run = exited(child);
    // Interrupt once the schedule has started: the first arrivals have reached the receiver.
    const until = Date.now() + 20_000;
    while (hits - before < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGINT");
    const r = await run;
    expect(r.code).toBe(130);
    const out = JSON.parse(r.stdout) as SpikeResult;
    expect(out).toMatchObject({ aborted: true, planned: 600, failed: 0 });
    expect(out.sent).toBeGreaterThanOrEqual(5);
    expect(out.sent).toBeLessThan(100);
    expect(out.accepted).toBe(out.sent);
    expect(hits - before).toBe(out.sent);
  });

  it("exits 1 when no comment is accepted", async () => {
    const r = await runDrpInProcess(["chaos", "spike", "--target", `http://127.0.0.1:${await freePort()}`, "--rate", "600/min", "--duration", "1s", "--json"], {
      META_APP_SECRET: SECRET,
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 10, failed: 10 });
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
  });

  const bad: [string, string[], Record<string, string | undefined>, RegExp][] = [
    ["a missing target", ["--rate", "600/min", "--duration", "2s"], { META_APP_SECRET: SECRET }, /--target is required/],
    ["a missing rate", ["--target", "URL", "--duration", "2s"], { META_APP_SECRET: SECRET }, /--rate is required/],
    ["a missing secret", ["--target", "URL", "--rate", "600/min", "--duration", "2s"], { META_APP_SECRET: undefined }, /app secret is missing; set META_APP_SECRET/],
    ["a blank secret", ["--target", "URL", "--rate", "600/min", "--duration", "2s"], { META_APP_SECRET: " " }, /app secret is missing/],
    ["a rate that does not parse", ["--target", "URL", "--rate", "lots", "--duration", "2s"], { META_APP_SECRET: SECRET }, /--rate "lots" does not parse; use N\/min/],
    ["a rate out of bounds", ["--target", "URL", "--rate", "0/min", "--duration", "2s"], { META_APP_SECRET: SECRET }, /--rate "0\/min" is out of bounds/],
    ["a duration that does not parse", ["--target", "URL", "--rate", "600/min", "--duration", "soon"], { META_APP_SECRET: SECRET }, /--duration "soon" does not parse; use Ns/],
    ["a duration out of bounds", ["--target", "URL", "--rate", "600/min", "--duration", "2h"], { META_APP_SECRET: SECRET }, /--duration "2h" does not parse|out of bounds/],
    ["too many arrivals", ["--target", "URL", "--rate", "600000/min", "--duration", "60m"], { META_APP_SECRET: SECRET }, /exceed 2000000; lower the rate or the duration/],
    ["a target that is no URL", ["--target", "not a url", "--rate", "600/min", "--duration", "2s"], { META_APP_SECRET: SECRET }, /is not a URL/],
    ["a non-loopback target without --yes", ["--target", "http://203.0.113.10:8080", "--rate", "600/min", "--duration", "2s"], { META_APP_SECRET: SECRET }, /not loopback; confirm .* with --yes/],
    ["a --timeout-ms below its bound", ["--target", "URL", "--rate", "600/min", "--duration", "2s", "--timeout-ms", "50"], { META_APP_SECRET: SECRET }, /timeout \(--timeout-ms\) 50 is out of bounds; use 100 to 60000 ms/],
    ["a --timeout-ms that is no number", ["--target", "URL", "--rate", "600/min", "--duration", "2s", "--timeout-ms", "5s"], { META_APP_SECRET: SECRET }, /--timeout-ms "5s" is not a whole number/],
    ["a bad --max-in-flight", ["--target", "URL", "--rate", "600/min", "--duration", "2s", "--max-in-flight", "0"], { META_APP_SECRET: SECRET }, /max in-flight \(--max-in-flight\) 0 is out of bounds; use 1 to 4096/],
  ];
  it.each(bad)("%s: exit 2, one line naming the fix, nothing sent", async (_name, args, env, message) => {
    const before = hits;
    const r = await runDrpInProcess(["chaos", "spike", ...args.map((a) => (a === "URL" ? receiverUrl : a))], env);
    expect(r.error?.exitCode).toBe(2);
    expect(r.error?.message.split("\n")).toHaveLength(1);
    expect(r.error?.message).toMatch(message);
    expect(r.stdout).toBe("");
    expect(hits).toBe(before);
  });

  it("an unknown flag and a remote target without --yes exit 2 from the real binary, nothing sent", async () => {
    const before = hits;
    const unknown = await runDrp(["chaos", "spike", "--target", receiverUrl, "--rate", "600/min", "--duration", "2s", "--fast"], { META_APP_SECRET: SECRET });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--fast'/);
    const remote = await runDrp(["chaos", "spike", "--target", "https://app.livestreamsell.ai", "--rate", "600/min", "--duration", "2s"], { META_APP_SECRET: SECRET });
    expect(remote.code).toBe(2);
    expect(oneLineError(remote)).toBe("drp: target app.livestreamsell.ai is not loopback; confirm a spike against it with --yes");
    expect(hits).toBe(before);
  });
});
