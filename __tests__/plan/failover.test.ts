/**
 * `drp failover` run as an operator runs it, with the deploy tool replaced through DRP_CDKTF by a script
 * that records each call and flips a loopback app between the maintenance page and the app, as the edge
 * deploy would.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { oneLineError, runDrp } from "../harness/cli";

const TOKEN = "b".repeat(40);
let dir: string;
let server: Server;
let url: string;
let apiBroken = false;
const state = () => JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { maintenance: string };
const calls = () => (existsSync(join(dir, "calls.log")) ? readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n") : []);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drp-failover-"));
  writeFileSync(join(dir, "state.json"), JSON.stringify({ maintenance: "off" }));
  // The stand-in for `npx cdktf`: records its arguments and applies -c maintenance=... as a deploy would.
  const fake = join(dir, "fake-cdktf.js");
  writeFileSync(
    fake,
    `const fs = require("fs"); const a = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(join(dir, "calls.log"))}, a.join(" ") + "\\n");
const m = a.find((x) => x.startsWith("maintenance="));
if (m) fs.writeFileSync(${JSON.stringify(join(dir, "state.json"))}, JSON.stringify({ maintenance: m.split("=")[1] }));`,
  );
  chmodSync(fake, 0o755);
  server = createServer((req, res) => {
    const bypass = req.headers["x-drp-bypass-token"] === TOKEN;
    if (state().maintenance === "on" && !bypass) return void res.writeHead(503, { "x-drp-maintenance": "1", "content-type": "text/html" }).end("<h1>Mantenimiento</h1>");
    if (req.url === "/healthz") return void res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    if (req.url?.startsWith("/api/")) return void (apiBroken ? res.writeHead(500).end("boom") : res.writeHead(200, { "content-type": "application/json" }).end("[]"));
    res.writeHead(200, { "content-type": "text/html" }).end("<h1>Tienda</h1>");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  rmSync(join(dir, "calls.log"), { force: true });
  writeFileSync(join(dir, "state.json"), JSON.stringify({ maintenance: "off" }));
  apiBroken = false;
});

const env = () => ({
  DRP_CDKTF: `${process.execPath} ${join(dir, "fake-cdktf.js")}`,
  DRP_BYPASS_TOKEN: TOKEN,
  AWS_ACCESS_KEY_ID: "x",
  AWS_SECRET_ACCESS_KEY: "y",
  AWS_PROFILE: undefined,
  CLOUDFLARE_API_TOKEN: "cf",
});

describe("drp failover", () => {
  it("runs maintenance on, the failover deploy, the smoke gate and maintenance off, in that order", async () => {
    const timeline = join(dir, "t1.json");
    const r = await runDrp(["failover", "--to", "secondary", "--url", url, "--confirm", "--timeline", timeline, "--json"], env());
    expect(r.code).toBe(0);
    expect(calls()).toEqual([
      "deploy edge -c region=secondary -c maintenance=on --auto-approve",
      "deploy -c region=secondary -c maintenance=on --auto-approve",
      "deploy edge -c region=secondary -c maintenance=off --auto-approve",
    ]);
    const t = JSON.parse(readFileSync(timeline, "utf8")) as { entries: { step: string; status: string }[] };
    expect(t.entries.map((e) => `${e.step}:${e.status}`)).toEqual(["detect:ok", "isolate:ok", "restore-service:ok", "recover-data:ok", "validate:ok", "reopen:ok", "postmortem:ok"]);
    expect(existsSync(join(dir, "t1-postmortem-es.md"))).toBe(true);
  });

  it("keeps the maintenance page up when the smoke gate fails, and --resume continues from the failed step", async () => {
    apiBroken = true;
    const timeline = join(dir, "t2.json");
    const r = await runDrp(["failover", "--to", "secondary", "--url", url, "--confirm", "--timeline", timeline], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Failover stopped at validate: .*Traffic stays on the maintenance page.*--resume .*t2\.json/);
    expect(calls().some((c) => c.includes("maintenance=off"))).toBe(false);
    expect(state().maintenance).toBe("on");

    apiBroken = false;
    rmSync(join(dir, "calls.log"));
    const resumed = await runDrp(["failover", "--to", "secondary", "--url", url, "--confirm", "--resume", timeline], env());
    expect(resumed.code).toBe(0);
    expect(calls()).toEqual(["deploy edge -c region=secondary -c maintenance=off --auto-approve"]);
    expect(state().maintenance).toBe("off");
  });

  it("prints every command and runs none without --confirm", async () => {
    const r = await runDrp(["failover", "--to", "secondary", "--url", url, "--pitr", "2026-11-27T05:58:00Z", "--project-ref", "abcdefghijklmnopqrst", "--json"], env());
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; commands: { step: string; command: string }[] };
    expect(out.commands.map((c) => c.step)).toEqual(["isolate", "restore-service", "recover-data", "validate", "reopen"]);
    expect(out.commands[2].command).toBe("npx drp pitr --project-ref abcdefghijklmnopqrst --to 2026-11-27T05:58:00Z --confirm abcdefghijklmnopqrst");
    expect(calls()).toEqual([]);
  });

  it("--to render restores service through drp render instead of the failover deploy", async () => {
    const r = await runDrp(["failover", "--to", "render", "--url", url, "--json"], env());
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { commands: { step: string; command: string }[] };
    expect(out.commands.map((c) => `${c.step}: ${c.command.replace(`${env().DRP_CDKTF} `, "").replace(/^npx /, "")}`)).toEqual([
      "isolate: deploy edge -c maintenance=on --auto-approve",
      "restore-service: drp render deploy --confirm",
      `validate: drp smoke --url ${url}`,
      "reopen: deploy edge -c maintenance=off --auto-approve",
    ]);
    const missing = await runDrp(["failover", "--to", "render", "--url", url, "--confirm"], { ...env(), RENDER_API_KEY: undefined });
    expect(missing.code).toBe(2);
    expect(oneLineError(missing)).toMatch(/--to render needs RENDER_API_KEY/);
  });

  it("reports every missing credential before anything starts, in one line, exit 2", async () => {
    const r = await runDrp(["failover", "--to", "secondary", "--url", url, "--confirm", "--pitr", "2026-11-27T05:58:00Z"], {
      ...env(),
      DRP_BYPASS_TOKEN: "short",
      CLOUDFLARE_API_TOKEN: undefined,
    });
    expect(r.code).toBe(2);
    const line = oneLineError(r);
    expect(line).toMatch(/--pitr needs --project-ref/);
    expect(line).toMatch(/DRP_BYPASS_TOKEN/);
    expect(line).toMatch(/CLOUDFLARE_API_TOKEN/);
    expect(calls()).toEqual([]);
  });
});
