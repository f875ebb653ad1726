/**
 * Where the drill's detection pages: a loopback server that receives what production sends, PagerDuty
 * Events API v2 (`POST /v2/enqueue`, trigger then resolve with one dedup_key) and a Slack incoming webhook
 * (`POST /slack`), validates each payload's shape and keeps it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedAlert {
  readonly service: "pagerduty" | "slack";
  readonly at: string;
  readonly body: Record<string, unknown>;
}

export interface AlertSink {
  readonly pagerdutyUrl: string;
  readonly slackUrl: string;
  readonly received: ReceivedAlert[];
  stop(): Promise<void>;
}

function validPagerDuty(b: Record<string, unknown>): boolean {
  const action = b.event_action;
  if (typeof b.routing_key !== "string" || typeof b.dedup_key !== "string") return false;
  if (action === "resolve") return true;
  const p = b.payload as Record<string, unknown> | undefined;
  return action === "trigger" && typeof p?.summary === "string" && typeof p.source === "string" && ["critical", "error", "warning", "info"].includes(p.severity as string);
}

export async function startAlertSink(): Promise<AlertSink> {
  const received: ReceivedAlert[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
    req.on("end", () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end("invalid JSON");
        return;
      }
      if (req.method === "POST" && req.url === "/v2/enqueue") {
        if (!validPagerDuty(body)) return void res.writeHead(400, { "content-type": "application/json" }).end('{"status":"invalid event"}');
        received.push({ service: "pagerduty", at: new Date().toISOString(), body });
        return void res.writeHead(202, { "content-type": "application/json" }).end(`{"status":"success","dedup_key":${JSON.stringify(body.dedup_key)}}`);
      }
      if (req.method === "POST" && req.url === "/slack") {
        if (typeof body.text !== "string") return void res.writeHead(400).end("no_text");
        received.push({ service: "slack", at: new Date().toISOString(), body });
        return void res.writeHead(200).end("ok");
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    pagerdutyUrl: `${base}/v2/enqueue`,
    slackUrl: `${base}/slack`,
    received,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
