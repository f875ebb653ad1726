/** Supabase point-in-time recovery against a local server speaking the Management API. */
import { DrpError } from "../../scripts/lib/cli";
import { parseTargetTime, planPitr, runPitr } from "../../scripts/data/pitr";
import { supabaseApi } from "../../scripts/data/supabase-api";
import { startFakeSupabase, type FakeSupabase } from "../harness/supabase-api";
import { oneLineError, runDrp, runDrpInProcess } from "../harness/cli";

const HOUR = 3600;
let api: FakeSupabase;
let env: Record<string, string>;
const nowUnix = () => Math.floor(Date.now() / 1000);
const iso = (unix: number) => new Date(unix * 1000).toISOString();

beforeAll(async () => {
  api = await startFakeSupabase();
  env = { SUPABASE_ACCESS_TOKEN: api.token, SUPABASE_API_URL: api.url };
});

afterAll(async () => {
  await api?.stop();
});

beforeEach(() => {
  api.requests.length = 0;
  api.state.backups = {
    region: "sa-east-1",
    walg_enabled: true,
    pitr_enabled: true,
    backups: [{ status: "COMPLETED", is_physical_backup: true, inserted_at: "2026-11-26T00:00:00Z" }],
    physical_backup_data: { earliest_physical_backup_date_unix: nowUnix() - 6 * 24 * HOUR, latest_physical_backup_date_unix: nowUnix() - 120 },
  };
  api.state.restoreStatus = 201;
  api.state.projectStatuses = ["ACTIVE_HEALTHY"];
  api.state.failProjectReads = 0;
});

describe("drp pitr", () => {
  it("dry-runs by default: reads the backups only and prints the exact confirm flag", async () => {
    const targetUnix = nowUnix() - HOUR;
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(targetUnix), "--json"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      dryRun: true,
      projectRef: api.ref,
      targetUnix,
      confirmFlag: `--confirm ${api.ref}`,
      request: { method: "POST", path: `/v1/projects/${api.ref}/database/backups/restore-pitr`, body: { recovery_time_target_unix: targetUnix } },
    });
    expect(api.requests).toEqual([
      { method: "GET", path: `/v1/projects/${api.ref}/database/backups`, authorization: `Bearer ${api.token}`, contentType: undefined, body: undefined },
    ]);
  });

  it("restores with --confirm and follows the project until it is healthy again", async () => {
    api.state.projectStatuses = ["ACTIVE_HEALTHY", "RESTORING", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"];
    api.state.failProjectReads = 1;
    const targetUnix = nowUnix() - 2 * HOUR;
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(targetUnix), "--confirm", api.ref, "--poll-interval", "0.05", "--json"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ dryRun: false, finalStatus: "ACTIVE_HEALTHY", statuses: ["ACTIVE_HEALTHY", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"] });

    const restore = api.requests.filter((q) => q.method === "POST");
    expect(restore).toEqual([
      {
        method: "POST",
        path: `/v1/projects/${api.ref}/database/backups/restore-pitr`,
        authorization: `Bearer ${api.token}`,
        contentType: "application/json",
        body: { recovery_time_target_unix: targetUnix },
      },
    ]);
    expect(api.requests[0].path).toBe(`/v1/projects/${api.ref}/database/backups`);
    const polls = api.requests.filter((q) => q.method === "GET" && q.path === `/v1/projects/${api.ref}`);
    expect(polls.length).toBe(6);
    expect(polls.every((q) => q.authorization === `Bearer ${api.token}`)).toBe(true);
  });

  it("does nothing when --confirm names another project", async () => {
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() - HOUR), "--confirm", "zzzzzzzzzzzzzzzzzzzz"], env);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toBe(`drp: --confirm "zzzzzzzzzzzzzzzzzzzz" does not match --project-ref ${api.ref}; nothing was done`);
    expect(api.requests).toEqual([]);
  });

  it("rejects targets in the future, outside the retention window, or outside the project's recovery points", async () => {
    const client = supabaseApi(api.url, api.token);
    const cases: [number, RegExp][] = [
      [nowUnix() + HOUR, /is in the future/],
      [nowUnix() - 8 * 24 * HOUR, /is older than the 7-day PITR window .*use drp restore with a weekly export/],
      [nowUnix() - 6 * 24 * HOUR - HOUR, /is before the project's earliest recovery point/],
      [nowUnix() - 30, /is after the project's latest recovery point/],
    ];
    for (const [unix, pattern] of cases) {
      const e = await planPitr(client, api.ref, new Date(unix * 1000), 7).catch((err: DrpError) => err);
      expect(e).toBeInstanceOf(DrpError);
      expect((e as DrpError).exitCode).toBe(2);
      expect((e as DrpError).message).toMatch(pattern);
    }
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() + HOUR), "--confirm", api.ref], env);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/^drp: --to .* is in the future/);
    expect(api.requests.some((q) => q.method === "POST")).toBe(false);
  });

  it("checks only the retention window when the project reports no recovery points", async () => {
    api.state.backups = { region: "sa-east-1", walg_enabled: true, pitr_enabled: true, backups: [], physical_backup_data: {} };
    const plan = await planPitr(supabaseApi(api.url, api.token), api.ref, new Date((nowUnix() - 6 * 24 * HOUR) * 1000), 7);
    expect(plan.window.latest).toBe(iso(nowUnix()).replace(".000Z", "Z"));
    await expect(planPitr(supabaseApi(api.url, api.token), api.ref, new Date((nowUnix() - 15 * 24 * HOUR) * 1000), 14)).rejects.toThrow(
      /older than the 14-day PITR window/,
    );
  });

  it("refuses when PITR is not enabled, or the token is rejected or missing", async () => {
    api.state.backups = { region: "sa-east-1", walg_enabled: true, pitr_enabled: false, backups: [], physical_backup_data: {} };
    const target = new Date((nowUnix() - HOUR) * 1000);
    await expect(planPitr(supabaseApi(api.url, api.token), api.ref, target, 7)).rejects.toThrow(
      /^point-in-time recovery is not enabled on project abcdefghijklmnopqrst; restore a daily backup in the dashboard, or an export with drp restore$/,
    );
    await expect(planPitr(supabaseApi(api.url, "wrong"), api.ref, target, 7)).rejects.toThrow(/SUPABASE_ACCESS_TOKEN was rejected; create a new token \(401/);
    await expect(planPitr(supabaseApi(api.url, api.token), "zzzzzzzzzzzzzzzzzzzz", target, 7)).rejects.toThrow(/no such project for this token; check --project-ref/);

    const none = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() - HOUR)], { ...env, SUPABASE_ACCESS_TOKEN: undefined });
    expect(none.code).toBe(2);
    expect(oneLineError(none)).toMatch(/^drp: SUPABASE_ACCESS_TOKEN is not set/);
  });

  it("validates the project ref and wants a time with a zone", async () => {
    expect(() => parseTargetTime("2026-11-27T05:58:00")).toThrow(/ISO-8601 time with a zone/);
    expect(() => parseTargetTime("yesterday")).toThrow(DrpError);
    expect(parseTargetTime("2026-11-27T02:58:00-03:00").toISOString()).toBe("2026-11-27T05:58:00.000Z");
    // Date.parse would roll these over to another day: a restore to a time nobody typed.
    for (const impossible of ["2026-02-30T05:58:00Z", "2026-11-31T05:58:00Z", "2026-11-27T24:00:00Z", "2026-11-27T05:60:00Z", "2026-11-27T05:58:00+25:00"])
      expect(() => parseTargetTime(impossible)).toThrow(`--to "${impossible}" is not a real date and time`);
    expect(parseTargetTime("2028-02-29T00:00:00Z").toISOString()).toBe("2028-02-29T00:00:00.000Z");
    const r = await runDrpInProcess(["pitr", "--project-ref", "NOT-A-REF", "--to", "2026-11-27T05:58:00Z"], env);
    expect(r.error).toMatchObject({ exitCode: 2, message: expect.stringMatching(/is not a Supabase project ref/) });
    expect(api.requests).toEqual([]);
  });

  it("stops following when the restore fails, or when the project never starts restoring", async () => {
    const client = supabaseApi(api.url, api.token);
    const plan = await planPitr(client, api.ref, new Date((nowUnix() - HOUR) * 1000), 7);
    api.state.projectStatuses = ["RESTORING", "RESTORE_FAILED"];
    await expect(runPitr(client, plan, { timeoutMs: 5000, pollMs: 10 })).rejects.toThrow(/failed: project status RESTORE_FAILED/);

    api.state.projectStatuses = ["ACTIVE_HEALTHY"];
    await expect(runPitr(client, plan, { timeoutMs: 5000, pollMs: 10, startGraceMs: 100 })).rejects.toThrow(/stayed ACTIVE_HEALTHY/);

    api.state.projectStatuses = ["RESTORING"];
    await expect(runPitr(client, plan, { timeoutMs: 200, pollMs: 20 })).rejects.toThrow(/still RESTORING after .* do not start another restore/);

    api.state.restoreStatus = 400;
    await expect(runPitr(client, plan, { timeoutMs: 200, pollMs: 20 })).rejects.toThrow(/restore-pitr failed: HTTP 400/);
  });
});
