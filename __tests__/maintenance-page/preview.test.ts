/** `drp maintenance preview` as a real subprocess: serves the page, stops cleanly on SIGTERM. */
import { exited, spawnDrp } from "../harness/cli";
import { MAINTENANCE_HEADER } from "../../constructs/maintenance-page/bindings";

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
