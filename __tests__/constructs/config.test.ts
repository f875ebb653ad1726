import { loadConfig, parseConfig, parseContext, resolveDeployment } from "../../constructs/config";

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

  it("reports an unreadable file with the variable that points at it", () => {
    expect(() => loadConfig("/nonexistent/drp.json")).toThrow("cannot read configuration /nonexistent/drp.json: ENOENT; set DRP_CONFIG to the file's path");
  });
});

describe("deploy context", () => {
  it("defaults to the primary region, maintenance off", () => {
    expect(parseContext({})).toEqual({ region: "primary", maintenance: false, image: undefined });
  });

  it("ignores cdktf's own keys", () => {
    expect(parseContext({ cdktfRelativeModules: ["x"], cdktfStaticModuleAssetHash: "h", region: "secondary" }).region).toBe("secondary");
  });

  it("rejects unknown keys and values listing the valid ones", () => {
    expect(() => parseContext({ regoin: "secondary" })).toThrow(
      'unknown context key "regoin"; valid keys: region=primary|secondary, maintenance=on|off, image=sha256:<64 hex digits>',
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
