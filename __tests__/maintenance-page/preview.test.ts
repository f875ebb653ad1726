/** `drp maintenance preview` as a real subprocess: serves the page, buffers webhooks, stops cleanly on SIGTERM/SIGINT. */
import { exited, runDrp, runDrpInProcess, spawnDrp } from "../harness/cli";
import { BUFFERED_HEADER, MAINTENANCE_HEADER, REPLAY_HEADERS, SIGNATURE_HEADER } from "../../constructs/maintenance-page/bindings";
import { metaSignature, startOrigin, webhookAppHandler } from "../harness/origins";

function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        stream.off("data", onData);
        resolve(buf.slice(0, nl));
      }
    };
    stream.on("data", onData);
    stream.once("end", () => reject(new Error(`stream ended before a line: ${buf}`)));
  });
}

describe("drp maintenance preview (subprocess)", () => {
  it("prints the URL, serves the 503 page from workerd, and exits 0 on SIGTERM", async () => {
    const child = spawnDrp(["maintenance", "preview", "--port", "0", "--lang", "en"]);
    const done = exited(child);
    try {
      const line = await firstLine(child.stdout);
      const m = /^Maintenance page \(en\): (http:\/\/127\.0\.0\.1:(\d+)\/\?lang=en)$/.exec(line);
      expect(m).not.toBeNull();
      const r = await fetch(m![1]);
      expect(r.status).toBe(503);
      expect(r.headers.get(MAINTENANCE_HEADER)).toBe("1");
      expect(await r.text()).toContain("<h1>Scheduled Maintenance</h1>");
      const es = await fetch(`http://127.0.0.1:${m![2]}/`, { headers: { "accept-language": "es-CL" } });
      expect(await es.text()).toContain("<h1>Mantenimiento Programado</h1>");

      child.kill("SIGTERM");
      const run = await done;
      expect(run).toMatchObject({ code: 0, signal: null });
      await expect(fetch(m![1])).rejects.toThrow();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});

describe("drp maintenance preview with an origin and the Meta secrets", () => {
  it("buffers a signed webhook while the origin fails and replays it once the origin is back; SIGINT stops workerd", async () => {
    const secret = "preview-app-secret-0123456789";
    const app = webhookAppHandler(secret);
    app.mode = "fail";
    const origin = await startOrigin(app.handler);
    const child = spawnDrp(["maintenance", "preview", "--port", "0", "--origin", origin.url, "--maintenance", "off"], {
      META_APP_SECRET: secret,
      META_VERIFY_TOKEN: "preview-verify-token",
    });
    const done = exited(child);
    try {
      const line = await firstLine(child.stdout);
      const base = /^Maintenance page \(es\): (http:\/\/127\.0\.0\.1:\d+)\/$/.exec(line)![1];
      const challenge = await fetch(`${base}/webhooks/meta?hub.mode=subscribe&hub.verify_token=preview-verify-token&hub.challenge=42`);
      expect(await challenge.text()).toBe("42");
      const body = JSON.stringify({ object: "page", entry: [{ id: "1", changes: [{ field: "feed", value: { message: "quiero una polera" } }] }] });
      const r = await fetch(`${base}/webhooks/meta`, { method: "POST", headers: { [SIGNATURE_HEADER]: metaSignature(body, secret), "content-type": "application/json" }, body });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe("EVENT_RECEIVED");
      const id = r.headers.get(BUFFERED_HEADER);
      app.mode = "up";
      const until = Date.now() + 60_000;
      while (app.deliveries.length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 200));
      expect(app.deliveries).toHaveLength(1);
      expect(app.deliveries[0]).toMatchObject({ body, signatureValid: true });
      expect(app.deliveries[0].headers[REPLAY_HEADERS.deliveryId]).toBe(id);

      child.kill("SIGINT");
      expect(await done).toMatchObject({ code: 0, signal: null });
      await expect(fetch(base)).rejects.toThrow();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await origin.close();
    }
  }, 90_000);

  it("refuses bad input with one line and exit 2, starting nothing", async () => {
    const cases: [string[], Record<string, string | undefined>, string][] = [
      [["--origin", "ftp://origin.example.com"], {}, 'drp: --origin "ftp://origin.example.com" is not usable (ORIGIN_URL="ftp://origin.example.com" must use http or https); use a base URL such as http://127.0.0.1:3000'],
      [["--maintenance", "off"], {}, "drp: --maintenance off needs --origin URL: without an origin there is nothing to pass traffic to"],
      [["--origin", "http://127.0.0.1:9"], { META_APP_SECRET: " " }, "drp: META_APP_SECRET is set but empty; export the real value or unset it"],
    ];
    for (const [args, env, message] of cases) {
      const r = await runDrpInProcess(["maintenance", "preview", "--port", "0", ...args], env);
      expect(r.error).toMatchObject({ exitCode: 2, message: message.replace(/^drp: /, "") });
    }
    const bad = await runDrp(["maintenance", "preview", "--maintenance", "maybe"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--maintenance <on|off>' argument 'maybe' is invalid. Allowed choices are on, off.");
  });
});
