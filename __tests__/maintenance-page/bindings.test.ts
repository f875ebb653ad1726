import { BYPASS_HEADER, WORKER_BINDINGS, parseMaintenance, parseOriginTimeoutMs, parseOriginUrl, plainTextBindings } from "../../constructs/maintenance-page/bindings";

describe("the Worker's bindings contract", () => {
  it("declares every binding once, the bypass token as a secret", () => {
    expect(Object.keys(WORKER_BINDINGS)).toEqual(["MAINTENANCE", "ORIGIN_URL", "ORIGIN_TIMEOUT_MS", "MAINTENANCE_HOSTNAME", "BYPASS_TOKEN"]);
    expect(WORKER_BINDINGS.BYPASS_TOKEN.type).toBe("secret_text");
    expect(BYPASS_HEADER).toBe(BYPASS_HEADER.toLowerCase());
  });

  it("deploys the plain-text bindings with their defaults", () => {
    expect(plainTextBindings()).toEqual([
      { name: "MAINTENANCE", type: "plain_text", text: "off" },
      { name: "ORIGIN_URL", type: "plain_text", text: "" },
      { name: "ORIGIN_TIMEOUT_MS", type: "plain_text", text: "15000" },
      { name: "MAINTENANCE_HOSTNAME", type: "plain_text", text: "" },
    ]);
    expect(plainTextBindings({ MAINTENANCE: "on", ORIGIN_TIMEOUT_MS: "8000" }).map((b) => b.text)).toEqual(["on", "", "8000", ""]);
  });

  it("refuses bad values before deploy, naming each one and the fix", () => {
    expect(() => plainTextBindings({ MAINTENANCE: "yes", ORIGIN_URL: "https://o.example.com/?a=1", ORIGIN_TIMEOUT_MS: "15s", MAINTENANCE_HOSTNAME: "Maint" })).toThrow(
      [
        "invalid maintenance Worker bindings:",
        '  MAINTENANCE="yes" is not valid; use "on" or "off"',
        '  ORIGIN_URL="https://o.example.com/?a=1" must not carry a query, fragment or credentials',
        '  ORIGIN_TIMEOUT_MS="15s" must be a whole number of milliseconds from 100 to 100000',
        '  MAINTENANCE_HOSTNAME="Maint" must be a lowercase hostname such as maintenance.example.com, or empty',
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
});
