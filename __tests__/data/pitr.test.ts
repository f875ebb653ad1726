/** Supabase point-in-time recovery against a local server speaking the Management API. */
import { DrpError } from "../../scripts/lib/cli";
import { parseTargetTime, planPitr, runPitr } from "../../scripts/data/pitr";
import { supabaseApi } from "../../scripts/data/supabase-api";
import { startFakeSupabase, type FakeSupabase } from "../harness/supabase-api";
import { oneLineError, runDrp, runDrpInProcess } from "../harness/cli";
import { freePort } from "../harness/postgres";

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
  api.state.rateLimited = 0;
  api.state.retryAfter = undefined;
  api.answers.length = 0;
});

const projectPath = () => `/v1/projects/${api.ref}`;
const posts = () => api.requests.filter((q) => q.method === "POST");

describe("drp pitr", () => {
  it("dry-runs by default: reads the project and its backups only, and prints the exact confirm flag", async () => {
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
      { method: "GET", path: `/v1/projects/${api.ref}`, authorization: `Bearer ${api.token}`, contentType: undefined, body: undefined },
      { method: "GET", path: `/v1/projects/${api.ref}/database/backups`, authorization: `Bearer ${api.token}`, contentType: undefined, body: undefined },
    ]);
  });

  it("restores with --confirm and follows the project until it is healthy again", async () => {
    // The first status is the check before the restore; the API flakes once while the project restores.
    api.state.projectStatuses = ["ACTIVE_HEALTHY", "ACTIVE_HEALTHY", "RESTORING", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"];
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
    expect(api.requests.slice(0, 3).map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET /v1/projects/${api.ref}`,
      `GET /v1/projects/${api.ref}/database/backups`,
      `POST /v1/projects/${api.ref}/database/backups/restore-pitr`,
    ]);
    const polls = api.requests.filter((q) => q.method === "GET" && q.path === `/v1/projects/${api.ref}`);
    expect(polls.length).toBe(7);
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

  it("refuses, dry run and confirmed, when the project does not report its recovery window instead of assuming 7 days", async () => {
    const unknown: [unknown, string][] = [
      [undefined, "earliest or latest"],
      [null, "earliest or latest"],
      [{}, "earliest or latest"],
      [{ earliest_physical_backup_date_unix: nowUnix() - 6 * 24 * HOUR, latest_physical_backup_date_unix: null }, "latest"],
      [{ earliest_physical_backup_date_unix: 0, latest_physical_backup_date_unix: nowUnix() - 120 }, "earliest"],
    ];
    for (const [phys, missing] of unknown) {
      api.state.backups = { region: "sa-east-1", walg_enabled: true, pitr_enabled: true, backups: [], ...(phys === undefined ? {} : { physical_backup_data: phys }) };
      const e = await planPitr(supabaseApi(api.url, api.token), api.ref, new Date((nowUnix() - 10) * 1000), 7).catch((err: DrpError) => err);
      expect(e).toBeInstanceOf(DrpError);
      expect((e as DrpError).exitCode).toBe(1);
      expect((e as DrpError).message).toBe(
        `the recovery window of project ${api.ref} is unknown (the backups API reports no ${missing} recovery point in physical_backup_data); nothing was done: check Database > Backups > Point in Time at https://supabase.com/dashboard/project/${api.ref}, or restore a weekly export with drp restore`,
      );
    }
    api.state.backups = { region: "sa-east-1", walg_enabled: true, pitr_enabled: true, backups: [], physical_backup_data: {} };
    for (const confirm of [[], ["--confirm", api.ref]]) {
      const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() - 10), ...confirm], env);
      expect(r.code).toBe(1);
      expect(oneLineError(r)).toMatch(/^drp: the recovery window of project \w+ is unknown/);
    }
    expect(posts()).toEqual([]);
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
    await expect(runPitr(client, plan, { timeoutMs: 200, pollMs: 20 })).rejects.toThrow(
      new RegExp(`still RESTORING after \\d+ s \\(--timeout\\); the restore may still be running at Supabase: check with drp pitr status --project-ref ${api.ref} .* do not start another restore$`),
    );

    api.state.restoreStatus = 400;
    await expect(runPitr(client, plan, { timeoutMs: 200, pollMs: 20 })).rejects.toThrow(/restore-pitr failed: HTTP 400/);
  });

  it("reads the project's status first and refuses to start unless it is ACTIVE_HEALTHY, naming the status and what to do", async () => {
    const cases: [string, RegExp][] = [
      ["RESTORING", /is RESTORING: a restore is already running; follow it with drp pitr status --project-ref \w+ --wait .* and do not start another; nothing was done$/],
      ["INACTIVE", /is INACTIVE \(paused\): resume it first \(Restore project at https:\/\/supabase\.com\/dashboard\/project\/\w+, or POST \/v1\/projects\/\w+\/restore\)/],
      ["PAUSING", /is PAUSING \(paused\): resume it first/],
      ["COMING_UP", /is COMING_UP: Supabase is working on it; wait until drp pitr status --project-ref \w+ shows ACTIVE_HEALTHY/],
      ["RESTORE_FAILED", /is RESTORE_FAILED: it cannot be restored in place; contact Supabase support, or restore a weekly export/],
      ["ACTIVE_UNHEALTHY", /is ACTIVE_UNHEALTHY: some of its services are down/],
    ];
    for (const [status, pattern] of cases) {
      for (const confirm of [[], ["--confirm", api.ref]]) {
        api.requests.length = 0;
        api.state.projectStatuses = [status];
        const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() - HOUR), ...confirm], env);
        expect(r.code).toBe(1);
        expect(oneLineError(r)).toMatch(new RegExp(`^drp: project ${api.ref} ${pattern.source}`));
        // Nothing but the status read: no backups read, above all no second restore.
        expect(api.requests.map((q) => `${q.method} ${q.path}`)).toEqual([`GET ${projectPath()}`]);
      }
    }
  });

  it("waits out a 429 as long as Retry-After says (seconds or an HTTP date), then carries on", async () => {
    api.state.rateLimited = 1;
    api.state.retryAfter = "1";
    const targetUnix = nowUnix() - HOUR;
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(targetUnix), "--json"], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: true, targetUnix });
    const [limited, retried] = api.answers;
    expect([limited.status, retried.status, retried.path]).toEqual([429, 200, projectPath()]);
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(950);

    api.answers.length = 0;
    api.state.rateLimited = 1;
    // HTTP dates have whole seconds: two seconds ahead is at least one second of wait.
    api.state.retryAfter = new Date(Date.now() + 2000).toUTCString();
    await planPitr(supabaseApi(api.url, api.token), api.ref, new Date(targetUnix * 1000), 7);
    expect(api.answers[1].at - api.answers[0].at).toBeGreaterThanOrEqual(950);
  });

  it("never waits out a rate limit past the overall timeout: fails at once saying how long it would be", async () => {
    api.state.rateLimited = 1;
    api.state.retryAfter = "120";
    const started = Date.now();
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() - HOUR), "--timeout", "0.5"], env);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toMatch(
      new RegExp(`^drp: Supabase API GET ${projectPath()} is rate limited \\(429, Retry-After 120 s\\), longer than the (29|30) s left; try again in a minute`),
    );
    expect(posts()).toEqual([]);
  });

  it("honours a 429 on the restore request itself: sends it again once, after the wait", async () => {
    api.state.projectStatuses = ["ACTIVE_HEALTHY", "RESTORING", "ACTIVE_HEALTHY"];
    const client = supabaseApi(api.url, api.token);
    const plan = await planPitr(client, api.ref, new Date((nowUnix() - HOUR) * 1000), 7);
    api.answers.length = 0;
    api.state.rateLimited = 1;
    api.state.retryAfter = "1";
    const out = await runPitr(client, plan, { timeoutMs: 10_000, pollMs: 20 });
    expect(out.finalStatus).toBe("ACTIVE_HEALTHY");
    expect(api.answers.slice(0, 2).map((a) => `${a.status} ${a.method}`)).toEqual(["429 POST", "201 POST"]);
    expect(api.answers[1].at - api.answers[0].at).toBeGreaterThanOrEqual(950);
  });

  it("when following fails (API down, or the timeout), says the restore may still be running and how to check, exit 1", async () => {
    api.state.projectStatuses = ["ACTIVE_HEALTHY", "RESTORING"];
    api.state.failProjectReads = 100;
    const r = await runDrp(["pitr", "--project-ref", api.ref, "--to", iso(nowUnix() - HOUR), "--confirm", api.ref, "--poll-interval", "0.05"], env);
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toMatch(
      new RegExp(
        `^drp: following the restore of ${api.ref} to \\S+ failed after \\d+ s \\(Supabase API GET ${projectPath()} failed: HTTP 503 .*\\); the restore may still be running at Supabase: check with drp pitr status --project-ref ${api.ref} \\(or GET ${projectPath()} of the Management API: ACTIVE_HEALTHY when done\\) or at https://supabase\\.com/dashboard/project/${api.ref}; do not start another restore$`,
      ),
    );
    expect(posts().length).toBe(1);

    // The API answering nothing at all (the network gone after the restore was accepted) reads the same way.
    api.state.failProjectReads = 0;
    api.state.projectStatuses = ["ACTIVE_HEALTHY"];
    const plan = await planPitr(supabaseApi(api.url, api.token), api.ref, new Date((nowUnix() - HOUR) * 1000), 7);
    const gone = supabaseApi(`http://127.0.0.1:${await freePort()}`, api.token);
    await expect(runPitr({ ...gone, restorePitr: async () => undefined }, plan, { timeoutMs: 5000, pollMs: 10 })).rejects.toThrow(
      /^following the restore of \w+ to \S+ failed after \d+ s \(Supabase API GET .* unreachable at .*\); the restore may still be running at Supabase: check with drp pitr status/,
    );
  });

  it("drp pitr status: the status, the window and what to do; --wait follows a running restore to the end", async () => {
    const ok = await runDrp(["pitr", "status", "--project-ref", api.ref, "--json"], env);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ projectRef: api.ref, status: "ACTIVE_HEALTHY", healthy: true, guidance: null, pitrEnabled: true, window: { earliest: expect.any(String) } });

    api.state.projectStatuses = ["RESTORING"];
    const running = await runDrp(["pitr", "status", "--project-ref", api.ref], env);
    expect(running.code).toBe(1);
    expect(running.stdout).toMatch(new RegExp(`^project ${api.ref}: RESTORING\n`));
    expect(oneLineError(running)).toMatch(/^drp: project \w+ is RESTORING: a restore is already running/);

    api.state.projectStatuses = ["RESTORING", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"];
    const waited = await runDrp(["pitr", "status", "--project-ref", api.ref, "--wait", "--poll-interval", "0.05", "--json"], env);
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ status: "ACTIVE_HEALTHY", healthy: true });
    expect(posts()).toEqual([]);

    const help = await runDrp(["pitr", "status", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--wait");
  });
});
