/** The assurance section of the configuration: thresholds with the plan's defaults, bad values named. */
import { loadConfig, parseConfig } from "../../constructs/config";

const example = () => JSON.parse(JSON.stringify(loadConfig())) as Record<string, any>;

describe("assurance configuration", () => {
  it("defaults to the plan's promises: backup within 26 h, export within 8 days, daily at 07:00 UTC", () => {
    const raw = example();
    raw.assurance = { supabaseProjectRef: "abcdefghijklmnopqrst", supabaseTokenSecretName: "x/token" };
    expect(parseConfig(raw).assurance).toEqual({
      schedule: "cron(0 7 * * ? *)",
      supabaseProjectRef: "abcdefghijklmnopqrst",
      supabaseTokenSecretName: "x/token",
      dailyBackupMaxAgeHours: 26,
      recoveryPointMaxAgeMinutes: 30,
      exportMaxAgeDays: 8,
      replicationSampleObjects: 200,
      replicationMaxFailed: 0,
      replicationMaxPending: 20,
      codeBundleMaxAgeDays: 8,
    });
  });

  it("names every bad field and its rule at once", () => {
    const raw = example();
    raw.assurance.supabaseProjectRef = "ABC";
    raw.assurance.exportMaxAgeDays = 3;
    raw.assurance.schedule = "daily";
    expect(() => parseConfig(raw, "x.json")).toThrow(
      [
        "invalid configuration in x.json:",
        "  assurance.schedule: must be a Scheduler expression such as cron(0 7 * * ? *)",
        "  assurance.supabaseProjectRef: must be a Supabase project ref: 20 lowercase letters",
        "  assurance.exportMaxAgeDays: Too small: expected number to be >=7",
      ].join("\n"),
    );
  });

  it("is required: the plan cannot promise backups nobody checks", () => {
    const raw = example();
    delete raw.assurance;
    expect(() => parseConfig(raw, "x.json")).toThrow("  assurance: Invalid input: expected object, received undefined");
  });

  it("reads the whole configuration from DRP_CONFIG_JSON when no file is named (the scheduled task)", () => {
    const saved = { json: process.env.DRP_CONFIG_JSON, file: process.env.DRP_CONFIG };
    try {
      delete process.env.DRP_CONFIG;
      const raw = example();
      raw.assurance.exportMaxAgeDays = 9;
      process.env.DRP_CONFIG_JSON = JSON.stringify(raw);
      expect(loadConfig().assurance.exportMaxAgeDays).toBe(9);
      process.env.DRP_CONFIG_JSON = "{";
      expect(() => loadConfig()).toThrow(/^configuration DRP_CONFIG_JSON is not valid JSON/);
    } finally {
      if (saved.json === undefined) delete process.env.DRP_CONFIG_JSON;
      else process.env.DRP_CONFIG_JSON = saved.json;
      if (saved.file !== undefined) process.env.DRP_CONFIG = saved.file;
    }
  });
});
