/**
 * No comment lost during an outage: the bundled Worker in workerd, with its queue and consumer, in front
 * of a real loopback app that verifies Meta's signature with the app secret. Healthy: straight through.
 * Down (5xx, timeout, closed port) or in maintenance: signed deliveries are accepted (200) and buffered,
 * forged and unsigned ones refused, and every accepted one reaches the app once it is back.
 */
import {
  BUFFERED_HEADER,
  EVENT_RECEIVED,
  MAINTENANCE_HEADER,
  MAX_BUFFERED_BODY_BYTES,
  REPLAY_HEADERS,
  SIGNATURE_HEADER,
} from "../../constructs/maintenance-page/bindings";
import { DEAD_LETTER_LOG_PREFIX } from "../../scripts/lib/workerd";
import { closedPortUrl, metaSignature, startOrigin, webhookAppHandler, type Origin } from "../harness/origins";
import { startWorkers, type Workers } from "../harness/workerd";

const APP_SECRET = "meta-app-secret-for-tests-5b1d0e";
const VERIFY_TOKEN = "verify-token-for-tests";
const FAST_REPLAY = { REPLAY_RETRY_DELAY_SECONDS: "1", REPLAY_MAX_DELAY_SECONDS: "1" };
const META = { META_APP_SECRET: APP_SECRET, META_VERIFY_TOKEN: VERIFY_TOKEN, ...FAST_REPLAY };

const apps = {
  healthy: webhookAppHandler(APP_SECRET),
  failing: webhookAppHandler(APP_SECRET),
  hanging: webhookAppHandler(APP_SECRET),
  closed: webhookAppHandler(APP_SECRET),
  maintenance: webhookAppHandler(APP_SECRET),
};
type Scenario = keyof typeof apps;
const origins: Partial<Record<Scenario, Origin>> = {};
let closedUrl: string;
let w: Workers;

beforeAll(async () => {
  for (const name of ["healthy", "failing", "hanging", "maintenance"] as const) origins[name] = await startOrigin(apps[name].handler);
  apps.failing.mode = "fail";
  apps.hanging.mode = "hang";
  closedUrl = await closedPortUrl();
  const neverUp = await closedPortUrl();
  w = await startWorkers({
    loop: { ORIGIN_URL: neverUp, ...META },
    healthy: { ORIGIN_URL: origins.healthy!.url, ...META },
    failing: { ORIGIN_URL: origins.failing!.url, ...META },
    hanging: { ORIGIN_URL: origins.hanging!.url, ORIGIN_TIMEOUT_MS: "300", ...META },
    closed: { ORIGIN_URL: closedUrl, ...META },
    maintenance: { MAINTENANCE: "on", ORIGIN_URL: origins.maintenance!.url, ...META },
    noSecret: { MAINTENANCE: "on", ORIGIN_URL: origins.maintenance!.url, ...FAST_REPLAY },
  });
});

afterAll(async () => {
  await w?.dispose();
  await Promise.all(Object.values(origins).map((o) => o?.close()));
});

/** A comment notification as Meta sends it (non-ASCII included: the signature covers the exact bytes). */
function comment(scenario: string, i: number): string {
  return JSON.stringify({
    object: "page",
    entry: [{ id: "page-1", time: 1764300000 + i, changes: [{ field: "feed", value: { item: "comment", comment_id: `${scenario}-${i}`, message: `quiero ${i} poleras, talla M ñ` } }] }],
  });
}

function post(instance: string, body: string, signature: string | null, path = "/webhooks/meta") {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== null) headers[SIGNATURE_HEADER] = signature;
  return w.fetch(instance, path, { method: "POST", headers, body });
}

/** Sends every body, `concurrency` at a time; returns status, body and buffer id of each answer. */
async function sendAll(instance: string, bodies: string[], sign: (b: string) => string | null, concurrency = 25) {
  const out: { status: number; text: string; id: string | null }[] = new Array(bodies.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const r = await post(instance, bodies[i], sign(bodies[i]));
        out[i] = { status: r.status, text: await r.text(), id: r.headers.get(BUFFERED_HEADER) };
      }
    }),
  );
  return out;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sign = (b: string) => metaSignature(b, APP_SECRET);

describe("origin healthy", () => {
  it("passes deliveries straight through: the app answers, nothing is buffered", async () => {
    const body = comment("healthy", 1);
    const r = await post("healthy", body, sign(body));
    expect(r.status).toBe(200);
    expect(r.headers.get(BUFFERED_HEADER)).toBeNull();
    expect(await r.text()).toBe("EVENT_RECEIVED");
    const forged = await post("healthy", body, metaSignature(body, "not-the-secret"));
    expect(forged.status).toBe(403); // the app's own answer
    await forged.text();
    expect(apps.healthy.deliveries.map((d) => [d.body, d.signatureValid, d.headers[REPLAY_HEADERS.replayed]])).toEqual([
      [body, true, undefined],
      [body, false, undefined],
    ]);
  });

  it("streams a body too large to buffer straight to a healthy origin", async () => {
    const big = `{"pad":"${"y".repeat(MAX_BUFFERED_BODY_BYTES * 2)}"}`;
    const r = await post("healthy", big, sign(big));
    expect(r.status).toBe(200);
    await r.text();
    expect(apps.healthy.deliveries.at(-1)).toMatchObject({ body: big, signatureValid: true });
  });
});

describe.each([
  ["failing", "the origin answers 5xx"],
  ["hanging", "the origin times out"],
  ["closed", "the origin's port is closed"],
] as const)("%s: %s", (scenario, _why) => {
  const count = scenario === "hanging" ? 100 : 300;
  const bodies = Array.from({ length: count }, (_, i) => comment(scenario, i));

  it(`accepts ${count} signed deliveries with 200 and refuses forged and unsigned ones, then replays every accepted one`, async () => {
    const accepted = await sendAll(scenario, bodies, sign);
    expect(accepted.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(accepted.map((a) => a.text))).toEqual(new Set([EVENT_RECEIVED]));
    const ids = accepted.map((a) => a.id);
    expect(new Set(ids).size).toBe(count);

    const forgedBodies = Array.from({ length: 20 }, (_, i) => comment(`${scenario}-forged`, i));
    const forged = await sendAll(scenario, forgedBodies, (b) => metaSignature(b, "attacker-secret"));
    const garbled = await sendAll(scenario, forgedBodies.slice(0, 5), () => "sha256=zz");
    const unsigned = await sendAll(scenario, forgedBodies, () => null);
    expect(new Set(forged.map((a) => a.status))).toEqual(new Set([403]));
    expect(new Set(garbled.map((a) => a.status))).toEqual(new Set([403]));
    expect(new Set(unsigned.map((a) => a.status))).toEqual(new Set([401]));

    // The origin comes back.
    const app = apps[scenario];
    if (scenario === "closed") origins.closed = await startOrigin(app.handler, Number(new URL(closedUrl).port));
    else app.mode = "up";
    await waitFor(`${count} replays`, () => app.deliveries.length >= count);
    await new Promise((r) => setTimeout(r, 1500)); // nothing more should come

    const replayed = app.deliveries;
    expect(replayed.filter((d) => !d.signatureValid)).toEqual([]);
    expect(replayed.map((d) => d.body).sort()).toEqual([...bodies].sort());
    for (const d of replayed) {
      expect(d.headers[REPLAY_HEADERS.replayed]).toBe("1");
      expect(d.headers["content-type"]).toBe("application/json");
      expect(Date.parse(String(d.headers[REPLAY_HEADERS.receivedAt]))).toBeGreaterThan(Date.now() - 120_000);
      expect(Number(d.headers[REPLAY_HEADERS.attempt])).toBeGreaterThanOrEqual(1);
    }
    expect(replayed.map((d) => d.headers[REPLAY_HEADERS.deliveryId]).sort()).toEqual([...ids].sort());
  }, 60_000);
});

describe("a replay that comes back through the Worker (ORIGIN_URL empty in production)", () => {
  it("is never buffered again: with the origin down it gets the 503 that makes the consumer hold it", async () => {
    const body = comment("loop", 1);
    const r = await w.fetch("loop", "/webhooks/meta", {
      method: "POST",
      headers: { [SIGNATURE_HEADER]: sign(body), [REPLAY_HEADERS.replayed]: "1", "content-type": "application/json" },
      body,
    });
    expect(r.status).toBe(503);
    expect(r.headers.get(BUFFERED_HEADER)).toBeNull();
    await r.text();
  });
});

describe("maintenance on", () => {
  it("buffers signed deliveries without calling the origin and holds them while maintenance lasts", async () => {
    const bodies = Array.from({ length: 200 }, (_, i) => comment("maintenance", i));
    const accepted = await sendAll("maintenance", bodies, sign);
    expect(new Set(accepted.map((a) => a.status))).toEqual(new Set([200]));
    const unsigned = await post("maintenance", bodies[0], null);
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get(BUFFERED_HEADER)).toBeNull();
    await unsigned.text();
    await new Promise((r) => setTimeout(r, 3000));
    expect(origins.maintenance!.hits).toBe(0);
    await waitFor("the log line", () => w.logs.some((l) => l.includes("buffered webhook") && l.includes("(maintenance is on)")), 5_000);
  });

  it("answers 503 (Meta retries) when the app secret is not bound: nothing unverified is buffered", async () => {
    const body = comment("no-secret", 1);
    const r = await post("noSecret", body, sign(body));
    expect(r.status).toBe(503);
    expect(r.headers.get(MAINTENANCE_HEADER)).toBe("1");
    expect(await r.text()).toBe("Service temporarily unavailable; retry later.\n");
  });

  it(`buffers a body of ${MAX_BUFFERED_BODY_BYTES} bytes and answers a larger one 503 so Meta retries it`, async () => {
    const fits = `{"pad":"${"x".repeat(MAX_BUFFERED_BODY_BYTES - 10)}"}`;
    const tooBig = `{"pad":"${"x".repeat(MAX_BUFFERED_BODY_BYTES - 9)}"}`;
    expect(Buffer.byteLength(fits)).toBe(MAX_BUFFERED_BODY_BYTES);
    const ok = await post("maintenance", fits, sign(fits));
    expect(ok.status).toBe(200);
    await ok.text();
    const big = await post("maintenance", tooBig, sign(tooBig));
    expect(big.status).toBe(503);
    expect(big.headers.get("retry-after")).not.toBeNull();
    await big.text();
    // workerd's log lines arrive on its stderr shortly after the response.
    await waitFor("the log line", () => w.logs.some((l) => l.includes(`webhook of ${MAX_BUFFERED_BODY_BYTES + 1} bytes exceeds`)), 5_000);

    // Without a Content-Length (chunked), the size is known only once read: still 503, never truncated.
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(tooBig));
        c.close();
      },
    });
    const r = await w.fetch("maintenance", "/webhooks/meta", { method: "POST", headers: { [SIGNATURE_HEADER]: sign(tooBig) }, body: chunked, duplex: "half" } as RequestInit);
    expect(r.status).toBe(503);
    await r.text();
  });
});

describe("Meta's verification challenge", () => {
  const q = (token: string, challenge = "1158201444") => `/webhooks/meta?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=${challenge}`;

  it("is answered at the edge, even in maintenance, when the verify token matches", async () => {
    for (const instance of ["maintenance", "closed"]) {
      const r = await w.fetch(instance, q(VERIFY_TOKEN));
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await r.text()).toBe("1158201444");
    }
  });

  it("refuses a wrong token or an unprintable challenge", async () => {
    for (const path of [q("wrong"), q(`${VERIFY_TOKEN}x`), q(VERIFY_TOKEN, "%3Cscript%3E%20x"), "/webhooks/meta?hub.mode=subscribe&hub.challenge=1"]) {
      const r = await w.fetch("maintenance", path);
      expect(r.status).toBe(403);
      expect(await r.text()).not.toContain("1158201444");
    }
  });

  it("leaves the challenge to the origin when no verify token is bound", async () => {
    const r = await w.fetch("noSecret", q(VERIFY_TOKEN));
    expect(r.status).toBe(503);
    await r.text();
  });
});

describe("dead-letter queue", () => {
  let app: ReturnType<typeof webhookAppHandler>;
  let origin: Origin;
  let dlq: Workers;

  beforeAll(async () => {
    app = webhookAppHandler(APP_SECRET);
    origin = await startOrigin(app.handler);
    dlq = await startWorkers(
      {
        downForGood: { ORIGIN_URL: origin.url, META_APP_SECRET: APP_SECRET, REPLAY_RETRY_DELAY_SECONDS: "0", REPLAY_MAX_DELAY_SECONDS: "0" },
      },
      { maxRetries: 2 },
    );
  });
  afterAll(async () => {
    await dlq?.dispose();
    await origin?.close();
  });

  it("moves a delivery that keeps failing there after the maximum attempts, and one the app refuses at once", async () => {
    app.mode = "fail";
    const body = comment("dlq", 1);
    const r = await dlq.fetch("downForGood", "/webhooks/meta/instagram", { method: "POST", headers: { [SIGNATURE_HEADER]: sign(body) }, body });
    expect(r.status).toBe(200);
    const id = r.headers.get(BUFFERED_HEADER)!;
    await waitFor("the dead-letter line", () => dlq.logs.some((l) => l.startsWith(DEAD_LETTER_LOG_PREFIX) && l.includes(id)));
    expect(dlq.logs.find((l) => l.includes(id) && l.startsWith(DEAD_LETTER_LOG_PREFIX))).toMatch(/-meta-webhooks-dlq .* \/webhooks\/meta\/instagram attempts=1$/);

    // Buffered while the app is down, then refused by the app (400): dead-lettered at the first replay.
    const refused = comment("dlq", 2);
    const r2 = await dlq.fetch("downForGood", "/webhooks/meta", { method: "POST", headers: { [SIGNATURE_HEADER]: sign(refused) }, body: refused });
    app.mode = "refuse";
    expect(r2.status).toBe(200);
    const id2 = r2.headers.get(BUFFERED_HEADER)!;
    await waitFor("the refusal", () => dlq.logs.some((l) => l.startsWith(DEAD_LETTER_LOG_PREFIX) && l.includes(id2)));
    expect(dlq.logs).toContain(`drp-maintenance: origin refused webhook ${id2} with 400; moved to the dead-letter queue`);
    expect(app.deliveries.filter((d) => d.body === refused)).toHaveLength(1);
  }, 30_000);
});

describe("re-driving the dead-letter queue", () => {
  it("sends dead-lettered deliveries back to the buffer, and they reach the app once it is back", async () => {
    const app = webhookAppHandler(APP_SECRET);
    app.mode = "fail";
    const origin = await startOrigin(app.handler);
    const rw = await startWorkers(
      { redrive: { ORIGIN_URL: origin.url, META_APP_SECRET: APP_SECRET, REPLAY_RETRY_DELAY_SECONDS: "0", REPLAY_MAX_DELAY_SECONDS: "0" } },
      { maxRetries: 1, deadLetters: "redrive" },
    );
    try {
      const bodies = [1, 2, 3].map((i) => comment("redrive", i));
      for (const b of bodies) expect((await rw.fetch("redrive", "/webhooks/meta", { method: "POST", headers: { [SIGNATURE_HEADER]: sign(b) }, body: b })).status).toBe(200);
      await waitFor("a re-drive", () => rw.logs.some((l) => l.includes("re-drove")));
      app.mode = "up";
      await waitFor("3 deliveries", () => app.deliveries.length >= 3);
      expect(app.deliveries.map((d) => d.body).sort()).toEqual(bodies.sort());
      expect(app.deliveries.every((d) => d.signatureValid)).toBe(true);
    } finally {
      await rw.dispose();
      await origin.close();
    }
  }, 30_000);
});
