/** `drp smoke` as a real subprocess: exit codes 0 / 1 / 2, --json, the token from DRP_BYPASS_TOKEN. */
import { appHandler, startOrigin, type Origin } from "../harness/origins";
import { runDrp } from "../harness/cli";
import { startWorkers, type Workers } from "../harness/workerd";
import { startTogether } from "../harness/together";

const TOKEN = "cli-smoke-token-0123456789";

let healthy: Origin;
let apiDown: Origin;
let worker: Workers;

beforeAll(async () => {
  [healthy, apiDown] = await startTogether(startOrigin(appHandler()), startOrigin(appHandler({ apiStatus: 500 })));
  worker = await startWorkers({ gate: { MAINTENANCE: "on", ORIGIN_URL: healthy.url, BYPASS_TOKEN: TOKEN } }, { listen: true });
});

afterAll(async () => {
  await worker?.dispose();
  await Promise.all([healthy?.close(), apiDown?.close()]);
});

describe("drp smoke (subprocess)", () => {
  it("exits 0 with --json through the Worker, 1 on a failing check, 2 on bad usage", async () => {
    const [pass, fail, usage] = await Promise.all([
      runDrp(["smoke", "--url", worker.url!, "--json"], { DRP_BYPASS_TOKEN: TOKEN }),
      runDrp(["smoke", "--url", apiDown.url], { DRP_BYPASS_TOKEN: undefined }),
      runDrp(["smoke", "--url", "not a url"], { DRP_BYPASS_TOKEN: undefined }),
    ]);

    expect(pass.stderr).toBe("");
    expect(pass.code).toBe(0);
    const report = JSON.parse(pass.stdout);
    expect(report).toMatchObject({ ok: true, url: `${worker.url}/` });
    expect(report.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ["health", true],
      ["page", true],
      ["api", true],
    ]);
    expect(pass.stdout).not.toContain(TOKEN);

    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/^ {2}api {5}GET \/api\/products\?limit=1 {2}500 +\d+ ms {2}FAIL {2}HTTP 500, expected 200/m);
    expect(fail.stdout).toMatch(/^ {2}health +GET \/healthz +200 +\d+ ms {2}PASS$/m);
    expect(fail.stdout).toContain("FAIL: 1 of 3 checks failed; do not reopen traffic");

    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe("");
    expect(usage.stderr).toBe('drp: --url "not a url" is not a URL; use the app\'s base URL, e.g. --url https://app.livestreamsell.ai\n');
  });
});
