/**
 * `drp drill` as an operator runs it: both scenarios end to end on real servers, the report's numbers, the
 * alerts PagerDuty and Slack would receive, the post-mortem, and cleanup when interrupted.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, oneLineError, runDrp, spawnDrp } from "../harness/cli";
import type { DrillReport } from "../../scripts/drill/run";

jest.setTimeout(120_000);

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "drp-drill-test-"));
  chmodSync(work, 0o755);
});

/** What the drill left in a temporary directory. */
const leftIn = (dir: string) => readdirSync(dir);

/** A temporary directory the postgres user can reach, as /tmp is. */
function reachableTmp(prefix: string): string {
  const dir = mkdtempSync(join(work, prefix));
  chmodSync(dir, 0o755);
  return dir;
}
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the drill with its own TMPDIR, so what it leaves behind can be seen. */
async function drill(args: string[]) {
  const tmp = reachableTmp("tmp-");
  const out = join(work, `out-${args.join("-").replace(/[^a-z0-9-]/gi, "")}`);
  const r = await runDrp(["drill", "--json", "--out", out, ...args], { TMPDIR: tmp });
  return { r, tmp, out };
}

describe("drp drill", () => {
  it("pitr: detects after the threshold, isolates, fails over, recovers to just before the bad statement and loses nothing", async () => {
    const { r, tmp } = await drill(["--scenario", "pitr"]);
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout) as DrillReport;
    expect(r.code).toBe(0);
    expect(report).toMatchObject({ scenario: "pitr", ok: true, failedStep: null, rpo: { ordersLost: 0, commentsLost: 0 } });
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual(["detect", "isolate", "restore-service", "recover-data", "validate", "reopen", "postmortem"].map((n) => [n, true]));
    // Detection waited for the (scaled) unhealthy threshold before paging, and the report says it was scaled.
    expect(report.scaled).toMatchObject({ productionUnhealthyMinutes: 5, unhealthyThresholdSeconds: 3 });
    expect(report.steps[0].seconds).toBeGreaterThan(3);
    expect(report.rtoSeconds).toBeGreaterThan(report.steps[0].seconds);
    // Traffic really flowed: orders acknowledged before the disaster, comments buffered during it and replayed.
    expect(report.traffic.ordersAcknowledged).toBeGreaterThan(5);
    expect(report.traffic.commentsBuffered).toBeGreaterThan(5);
    // Every buffered comment is stored (commentsLost 0 above). Delivery is at least once: a comment the
    // origin stored just as the outage cut its answer is buffered too, and its replay finds it already
    // stored (not counted as replayed), so replayed can be a few below buffered.
    expect(report.traffic.commentsReplayed).toBeGreaterThan(report.traffic.commentsBuffered / 2);
    expect(report.rpo.seconds).toBeLessThan(1);
    // The deploy ran from the code kept in the DR bucket, not from GitHub.
    expect(report.steps[2].detail).toMatch(/^code [0-9a-f]{12} restored from s3:\/\/livestreamsell-dr-drill\/code\/\d{8}T\d{6}Z-[0-9a-f]{12}\/ and verified;/);
    expect(report.alerts.map((a) => `${a.service} ${a.action}`)).toEqual(["pagerduty trigger", "slack message", "pagerduty resolve", "slack message"]);
    // The post-mortem and the timeline it came from.
    const pm = readFileSync(report.postmortem!, "utf8");
    expect(pm).toContain("| Pedidos perdidos | 0 |");
    expect(pm).toMatch(/```mermaid\ngantt/);
    const timeline = JSON.parse(readFileSync(report.timeline, "utf8")) as { entries: { step: string }[] };
    expect(timeline.entries).toHaveLength(7);
    // Nothing left behind in its temporary directory.
    expect(leftIn(tmp)).toEqual([]);
  });

  it("provider-loss: restores the weekly export and reports the data written since it as lost", async () => {
    const { r, tmp } = await drill(["--scenario", "provider-loss", "--lang", "en"]);
    const report = JSON.parse(r.stdout) as DrillReport;
    expect(r.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.steps.find((s) => s.name === "recover-data")!.detail).toMatch(/^weekly export s3:\/\/livestreamsell-dr-drill\/exports\/.*manifest\.json restored/);
    // Orders acknowledged after the export are gone with the provider: the report says so.
    expect(report.rpo.ordersLost).toBeGreaterThan(0);
    expect(report.rpo.ordersLost).toBeLessThanOrEqual(report.traffic.ordersAcknowledged);
    expect(report.rpo.seconds).toBeGreaterThan(1);
    // What the edge buffered during the outage is still replayed into the restored database.
    // Every buffered comment is stored (commentsLost 0 above). Delivery is at least once: a comment the
    // origin stored just as the outage cut its answer is buffered too, and its replay finds it already
    // stored (not counted as replayed), so replayed can be a few below buffered.
    expect(report.traffic.commentsReplayed).toBeGreaterThan(report.traffic.commentsBuffered / 2);
    expect(readFileSync(report.postmortem!, "utf8")).toContain("## Root cause");
    expect(leftIn(tmp)).toEqual([]);
  });

  it("stops every server and removes its temporary directories on Ctrl-C", async () => {
    const tmp = reachableTmp("tmp-int-");
    const child = spawnDrp(["drill", "--out", join(work, "out-int")], { TMPDIR: tmp });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // Interrupt while detection waits: PostgreSQL, moto, workerd and the origins are all up then.
    const deadline = Date.now() + 60_000;
    while (!stderr.includes("▶ detect") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(tmp).some((d) => d.startsWith("drp-pg-"))).toBe(true);
    child.kill("SIGINT");
    const r = await exited(child);
    expect(r.code).toBe(130);
    expect(leftIn(tmp)).toEqual([]);
    const leftovers = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(tmp));
    expect(leftovers).toEqual([]);
  });

  it("--keep prints the report, keeps the recovered app up until Ctrl-C, then stops everything", async () => {
    const tmp = reachableTmp("tmp-keep-");
    const child = spawnDrp(["drill", "--keep", "--json", "--out", join(work, "out-keep")], { TMPDIR: tmp });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 90_000;
    while (!stderr.includes("Ctrl-C stops it") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((JSON.parse(stdout) as DrillReport).ok).toBe(true);
    const edge = /through the Worker (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1];
    const page = await fetch(`${edge}/api/products?limit=1`);
    expect(page.status).toBe(200);
    child.kill("SIGINT");
    const r = await exited(child);
    expect(r.code).toBe(0);
    expect(leftIn(tmp)).toEqual([]);
    await expect(fetch(edge)).rejects.toThrow();
  });

  it("says in one line when PostgreSQL cannot reach the temporary directory", async () => {
    const closed = mkdtempSync(join(work, "closed-"));
    const r = await runDrp(["drill"], { TMPDIR: closed });
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toMatch(/postgres user, who cannot reach the temporary directory .*closed-.*chmod 755 it or set TMPDIR/);
    expect(leftIn(closed)).toEqual([]);
  });

  it("refuses a time scale that does not parse, with one line and exit 2", async () => {
    const r = await runDrp(["drill", "--time-scale", "fast"]);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/--time-scale "fast" is not valid; use a number from 1/);
  });
});

describe("drp postmortem", () => {
  it("renders a timeline file and refuses a file that is not one", async () => {
    const file = join(work, "timeline.json");
    writeFileSync(file, JSON.stringify({ kind: "failover", scenario: "secondary", startedAt: "2026-11-28T03:00:00.000Z", entries: [{ step: "isolate", status: "ok", startedAt: "2026-11-28T03:05:00.000Z", endedAt: "2026-11-28T03:06:00.000Z", detail: "maintenance on" }], facts: { rtoSeconds: 3600 } }));
    const ok = await runDrp(["postmortem", file, "--lang", "en"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("# Post-mortem: Failover `secondary` 2026-11-28");
    expect(ok.stdout).toContain("  isolate :s0, 2026-11-28 03:05:00.000, 60000ms");
    writeFileSync(file, JSON.stringify({ entries: "nope" }));
    const bad = await runDrp(["postmortem", file]);
    expect(bad.code).toBe(2);
    expect(oneLineError(bad)).toMatch(/is not a drp timeline/);
    expect(existsSync(file)).toBe(true);
  });
});
