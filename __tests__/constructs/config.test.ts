import { chaosSettings, loadConfig, parseConfig, parseContext, resolveDeployment } from "../../constructs/config";

const example = () => JSON.parse(JSON.stringify(loadConfig())) as Record<string, any>;

describe("configuration", () => {
  it("loads the shipped example with the plan's defaults", () => {
    const c = loadConfig();
    expect(c.retention.pitrDays).toBe(7);
    expect(c.retention.exportDays).toBeGreaterThanOrEqual(35);
    expect(c.detection.unhealthyMinutes).toBe(5);
    expect(c.app.maxTasks).toBeGreaterThanOrEqual(5 * c.app.nominalTasks);
  });

  it("names the field and the fix for each problem, all at once", () => {
    const raw = example();
    raw.regions.secondary = raw.regions.primary;
    raw.state.region = raw.regions.primary;
    raw.app.maxTasks = 3;
    expect(() => parseConfig(raw, "x.json")).toThrow(
      [
        "invalid configuration in x.json:",
        "  regions.secondary: must differ from regions.primary, or failover lands in the failed region",
        "  state.region: must differ from regions.primary: failover has to read and write state while the primary region is down",
        "  app.maxTasks: must be at least 5 x app.nominalTasks (10) to absorb 5,000 comments/minute",
      ].join("\n"),
    );
  });

  it("rejects unknown keys and a detection window under 5 minutes", () => {
    const raw = example();
    raw.detection.unhealthyMinutes = 2;
    raw.extra = 1;
    expect(() => parseConfig(raw)).toThrow(/detection\.unhealthyMinutes: .*5/);
    expect(() => parseConfig(raw)).toThrow(/Unrecognized key.*"extra"/);
  });

  it("gives chaos settings defaults when the config has none: OpenAI's API, Flow and PayPal live APIs, 30 s, 5 min", () => {
    expect(loadConfig().chaos).toBeUndefined();
    expect(chaosSettings(loadConfig())).toEqual({
      aiHosts: ["api.openai.com"],
      paymentHosts: ["www.flow.cl", "api-m.paypal.com"],
      aiLatencyMs: 30000,
      durationMinutes: 5,
      stopTaskPercent: 50,
      max5xxPerMinute: 20,
      maxResponseSeconds: 3,
      ssmAgentImage: "public.ecr.aws/amazon-ssm-agent/amazon-ssm-agent:latest",
    });
    const raw = example();
    raw.chaos = { aiHosts: ["api.anthropic.com"], durationMinutes: 10 };
    expect(chaosSettings(parseConfig(raw))).toMatchObject({ aiHosts: ["api.anthropic.com"], durationMinutes: 10, paymentHosts: ["www.flow.cl", "api-m.paypal.com"] });
  });

  it("names each bad chaos setting and its fix", () => {
    const raw = example();
    raw.chaos = { aiHosts: ["https://api.openai.com"], paymentHosts: [], durationMinutes: 720, stopTaskPercent: 0, ssmAgentImage: "amazon-ssm-agent" };
    let message = "";
    try {
      parseConfig(raw, "x.json");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/chaos\.aiHosts\.0: must be a lowercase DNS hostname/);
    expect(message).toMatch(/chaos\.paymentHosts: .*1/);
    expect(message).toMatch(/chaos\.durationMinutes: .*60/);
    expect(message).toMatch(/chaos\.stopTaskPercent: .*1/);
    expect(message).toMatch(/chaos\.ssmAgentImage: must be an image reference with a tag or digest/);
  });

  it("keeps the hosts of one fault within FIS's 1024-character parameter", () => {
    const raw = example();
    raw.chaos = { paymentHosts: Array.from({ length: 10 }, (_, i) => `${"p".repeat(60)}.${"q".repeat(50)}${i}.com`) };
    expect(() => parseConfig(raw)).toThrow("chaos.paymentHosts: joined with commas must fit in 1024 characters (an FIS action parameter's limit); list fewer hosts");
  });

  it("reports an unreadable file with the variable that points at it", () => {
    expect(() => loadConfig("/nonexistent/drp.json")).toThrow("cannot read configuration /nonexistent/drp.json: ENOENT; set DRP_CONFIG to the file's path");
  });
});

describe("deploy context", () => {
  it("defaults to the primary region, maintenance off, chaos off", () => {
    expect(parseContext({})).toEqual({ region: "primary", maintenance: false, image: undefined, chaos: false });
  });

  it("turns chaos on only with chaos=on, and refuses it while failed over", () => {
    expect(parseContext({ chaos: "on" }).chaos).toBe(true);
    expect(parseContext({ chaos: "off" }).chaos).toBe(false);
    expect(() => parseContext({ chaos: "yes" })).toThrow('context chaos="yes" is not valid; use chaos=on or chaos=off');
    expect(() => parseContext({ chaos: "on", region: "secondary" })).toThrow(
      "context chaos=on cannot be combined with region=secondary: no experiment runs while failed over; fail back first (region=primary), then deploy chaos",
    );
    expect(parseContext({ chaos: "off", region: "secondary" })).toMatchObject({ region: "secondary", chaos: false });
  });

  it("ignores cdktf's own keys", () => {
    expect(parseContext({ cdktfRelativeModules: ["x"], cdktfStaticModuleAssetHash: "h", region: "secondary" }).region).toBe("secondary");
  });

  it("rejects unknown keys and values listing the valid ones", () => {
    expect(() => parseContext({ regoin: "secondary" })).toThrow(
      'unknown context key "regoin"; valid keys: region=primary|secondary, maintenance=on|off, image=sha256:<64 hex digits>, chaos=on|off',
    );
    expect(() => parseContext({ region: "us-east-2" })).toThrow('context region="us-east-2" is not valid; use region=primary or region=secondary');
    expect(() => parseContext({ maintenance: "true" })).toThrow("use maintenance=on or maintenance=off");
    expect(() => parseContext({ image: "latest" })).toThrow("use image=sha256:<64 hex digits>");
  });

  it("puts the serving region first in the pool order and marks only it active", () => {
    const d = resolveDeployment(loadConfig(), parseContext({ region: "secondary" }));
    expect(d.poolOrder.map((p) => p.region)).toEqual(["us-east-2", "sa-east-1"]);
    expect(d.isActive("secondary")).toBe(true);
    expect(d.isActive("primary")).toBe(false);
  });

  it("pins the image by digest, overridable per deploy", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    expect(resolveDeployment(loadConfig(), parseContext({ image: digest })).image).toBe(`ghcr.io/livestreamsell/app@${digest}`);
  });
});
