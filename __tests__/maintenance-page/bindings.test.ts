import {
  BYPASS_HEADER,
  MAX_BUFFERED_BODY_BYTES,
  QUEUE_LIMITS,
  REPLAY_CONSUMER,
  WORKER_BINDINGS,
  parseBypassToken,
  parseMaintenance,
  parseOriginTimeoutMs,
  parseOriginUrl,
  plainTextBindings,
  replayDelaySeconds,
  webhookQueueNames,
} from "../../constructs/maintenance-page/bindings";

describe("the Worker's bindings contract", () => {
  it("declares every binding once, the bypass token as a secret", () => {
    expect(Object.keys(WORKER_BINDINGS)).toEqual([
      "MAINTENANCE",
      "ORIGIN_URL",
      "ORIGIN_TIMEOUT_MS",
      "MAINTENANCE_HOSTNAME",
      "REPLAY_RETRY_DELAY_SECONDS",
      "REPLAY_MAX_DELAY_SECONDS",
      "WEBHOOK_DEAD_LETTER_QUEUE_NAME",
      "BYPASS_TOKEN",
      "META_APP_SECRET",
      "META_VERIFY_TOKEN",
      "WEBHOOK_QUEUE",
      "WEBHOOK_DEAD_LETTERS",
    ]);
    for (const secret of ["BYPASS_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"] as const) expect(WORKER_BINDINGS[secret].type).toBe("secret_text");
    expect(WORKER_BINDINGS.WEBHOOK_QUEUE).toMatchObject({ type: "queue", queue: "buffer" });
    expect(WORKER_BINDINGS.WEBHOOK_DEAD_LETTERS).toMatchObject({ type: "queue", queue: "deadLetter" });
    expect(BYPASS_HEADER).toBe(BYPASS_HEADER.toLowerCase());
  });

  it("deploys the plain-text bindings with their defaults", () => {
    expect(plainTextBindings()).toEqual([
      { name: "MAINTENANCE", type: "plain_text", text: "off" },
      { name: "ORIGIN_URL", type: "plain_text", text: "" },
      { name: "ORIGIN_TIMEOUT_MS", type: "plain_text", text: "15000" },
      { name: "MAINTENANCE_HOSTNAME", type: "plain_text", text: "" },
      { name: "REPLAY_RETRY_DELAY_SECONDS", type: "plain_text", text: "30" },
      { name: "REPLAY_MAX_DELAY_SECONDS", type: "plain_text", text: "600" },
      { name: "WEBHOOK_DEAD_LETTER_QUEUE_NAME", type: "plain_text", text: "" },
    ]);
    expect(plainTextBindings({ MAINTENANCE: "on", ORIGIN_TIMEOUT_MS: "8000" }).map((b) => b.text)).toEqual(["on", "", "8000", "", "30", "600", ""]);
  });

  it("refuses bad values before deploy, naming each one and the fix", () => {
    expect(() =>
      plainTextBindings({
        MAINTENANCE: "yes",
        ORIGIN_URL: "https://o.example.com/?a=1",
        ORIGIN_TIMEOUT_MS: "15s",
        MAINTENANCE_HOSTNAME: "Maint",
        REPLAY_RETRY_DELAY_SECONDS: "-1",
        REPLAY_MAX_DELAY_SECONDS: "86401",
      }),
    ).toThrow(
      [
        "invalid maintenance Worker bindings:",
        '  MAINTENANCE="yes" is not valid; use "on" or "off"',
        '  ORIGIN_URL="https://o.example.com/?a=1" must not carry a query, fragment or credentials',
        '  ORIGIN_TIMEOUT_MS="15s" must be a whole number of milliseconds from 100 to 100000',
        '  MAINTENANCE_HOSTNAME="Maint" must be a lowercase hostname such as maintenance.example.com, or empty',
        '  REPLAY_RETRY_DELAY_SECONDS="-1" must be a whole number of seconds from 0 to 86400',
        '  REPLAY_MAX_DELAY_SECONDS="86401" must be a whole number of seconds from 0 to 86400',
      ].join("\n"),
    );
  });

  it("reads values the way the Worker does", () => {
    expect(parseMaintenance(" ON ")).toEqual({ ok: true, value: true });
    expect(parseMaintenance(undefined)).toEqual({ ok: true, value: false });
    expect(parseOriginUrl("")).toEqual({ ok: true, value: null });
    expect(parseOriginUrl("not a url").ok).toBe(false);
    expect(parseOriginTimeoutMs("99").ok).toBe(false);
    expect(parseOriginTimeoutMs("100000")).toEqual({ ok: true, value: 100000 });
  });

  it("treats a bypass token shorter than 32 printable characters, or with spaces, as unusable", () => {
    expect(parseBypassToken(undefined)).toEqual({ ok: true, value: null });
    expect(parseBypassToken("a".repeat(32))).toEqual({ ok: true, value: "a".repeat(32) });
    expect(parseBypassToken("a".repeat(31))).toEqual({ ok: false, error: "BYPASS_TOKEN has 31 characters, fewer than 32; the bypass is disabled" });
    for (const bad of [` ${"a".repeat(32)}`, `${"a".repeat(32)}\n`, `${"a".repeat(16)} ${"a".repeat(16)}`, `${"ñ".repeat(32)}`])
      expect(parseBypassToken(bad)).toEqual({ ok: false, error: expect.stringContaining("spaces or non-printable characters") });
  });

  it("backs replays off from the first delay, doubling, up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((a) => replayDelaySeconds(a, 30, 600))).toEqual([30, 60, 120, 240, 480, 600, 600, 600]);
    expect(replayDelaySeconds(1, 0, 0)).toBe(0);
  });

  it("names the queues after the script and refuses names Cloudflare would not take", () => {
    expect(webhookQueueNames("livestreamsell-edge")).toEqual({ buffer: "livestreamsell-edge-meta-webhooks", deadLetter: "livestreamsell-edge-meta-webhooks-dlq" });
    expect(() => webhookQueueNames("x".repeat(60))).toThrow(/must be at most 63 lowercase letters, digits and hyphens; shorten the project name/);
  });

  it("keeps a buffered body and its headers within Cloudflare's 128 KB message limit", () => {
    expect(QUEUE_LIMITS.messageBytes).toBe(128_000);
    expect(MAX_BUFFERED_BODY_BYTES).toBeLessThanOrEqual(QUEUE_LIMITS.messageBytes - 1_000);
    expect(REPLAY_CONSUMER).toMatchObject({ batchSize: 100, maxRetries: 100, retentionSeconds: 14 * 24 * 3600 });
  });
});
