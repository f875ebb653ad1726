/**
 * `drp chaos run --cloud`: the scenario's AWS FIS experiment template is found by its tag (the chaos stack
 * tags each with SCENARIO_TAG_KEY = scenario id), started, and polled until it completes, fails or is
 * stopped (by a stop condition, or by the runner on Ctrl-C); the steady-state probes run against --target
 * meanwhile. AWS_ENDPOINT_URL_FIS (or AWS_ENDPOINT_URL) points the client at another FIS endpoint.
 */
import { randomUUID } from "node:crypto";
import {
  FisClient,
  GetExperimentCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
  type Experiment as FisExperiment,
} from "@aws-sdk/client-fis";
import { SCENARIO_TAG_KEY, type Scenario } from "../../constructs/chaos-experiments/scenarios";
import { DrpError } from "../lib/cli";
import type { FaultControl, ProbeResult } from "./experiment";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** FIS experiment states that end an experiment. */
export const TERMINAL_STATES = ["completed", "stopped", "failed", "cancelled"] as const;
/** Longest the runner follows one experiment before stopping it (FIS allows 12 h; the plan's faults last minutes). */
export const CLOUD_EXPERIMENT_DEADLINE_MS = 30 * 60_000;

export function fisEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_FIS || env.AWS_ENDPOINT_URL || undefined;
}

export function createFisClient(env: NodeJS.ProcessEnv = process.env): FisClient {
  const endpoint = fisEndpoint(env);
  if (endpoint && !/^https?:\/\/[^/\s]+/.test(endpoint)) throw new DrpError(`AWS_ENDPOINT_URL_FIS="${endpoint}" is not a URL; use e.g. http://127.0.0.1:4600 or unset it`, 2);
  return new FisClient({ ...(endpoint ? { endpoint } : {}), maxAttempts: 3 });
}

/** The one template tagged for the scenario; none or several is an operator error naming the fix. */
export async function findTemplate(fis: FisClient, scenario: Scenario): Promise<{ id: string; description: string }> {
  const found: { id: string; description: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await fis.send(new ListExperimentTemplatesCommand({ maxResults: 100, nextToken }));
    for (const t of page.experimentTemplates ?? []) if (t.id && t.tags?.[SCENARIO_TAG_KEY] === scenario) found.push({ id: t.id, description: t.description ?? "" });
    nextToken = page.nextToken;
  } while (nextToken);
  if (found.length === 0) throw new DrpError(`no FIS experiment template is tagged ${SCENARIO_TAG_KEY}=${scenario} in this account and region; deploy the chaos stack (cdktf deploy chaos -c chaos=on) or set AWS_REGION`, 1);
  if (found.length > 1) throw new DrpError(`${found.length} FIS experiment templates are tagged ${SCENARIO_TAG_KEY}=${scenario} (${found.map((t) => t.id).join(", ")}); keep one`, 1);
  return found[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CloudFault extends FaultControl {
  /** Polls the experiment until it ends, running `probe` every round; returns the probes and the final state. */
  follow(probe: () => Promise<ProbeResult[]>): Promise<ProbeResult[]>;
}

export function cloudFault(fis: FisClient, scenario: Scenario, template: { id: string; description: string }, pollMs: number): CloudFault {
  let experimentId: string | undefined;
  let last: FisExperiment | undefined;
  const status = () => last?.state?.status ?? "unknown";
  const terminal = () => (TERMINAL_STATES as readonly string[]).includes(status());
  const get = async () => {
    last = (await fis.send(new GetExperimentCommand({ id: experimentId! }))).experiment;
    return last;
  };
  const evidence = () => ({ experimentId, templateId: template.id, status: status(), reason: last?.state?.reason ?? null, startTime: last?.startTime?.toISOString() ?? null, endTime: last?.endTime?.toISOString() ?? null });
  return {
    description: `FIS experiment from template ${template.id}${template.description ? ` (${template.description})` : ""}`,
    async inject() {
      const r = await fis.send(new StartExperimentCommand({ experimentTemplateId: template.id, clientToken: randomUUID(), tags: { [SCENARIO_TAG_KEY]: scenario, "drp:runner": "drp chaos run" } }));
      if (!r.experiment?.id) throw new Error("FIS answered without an experiment id");
      experimentId = r.experiment.id;
      last = r.experiment;
      return evidence();
    },
    async follow(probe) {
      const results: ProbeResult[] = [];
      const states: string[] = [status()];
      const deadline = Date.now() + CLOUD_EXPERIMENT_DEADLINE_MS;
      while (!terminal() && Date.now() < deadline) {
        results.push(...(await probe()));
        await sleep(pollMs);
        await get();
        if (states.at(-1) !== status()) states.push(status());
      }
      const ended = status();
      results.push({
        name: "FIS experiment ran to completion",
        ok: ended === "completed",
        detail: `experiment ${experimentId}: ${states.join(" -> ")}${last?.state?.reason ? ` (${last.state.reason})` : ""}${terminal() ? "" : `; still running after ${CLOUD_EXPERIMENT_DEADLINE_MS / 60_000} min: stopped`}`,
        evidence: { ...evidence(), states },
      });
      return results;
    },
    async rollback() {
      if (!experimentId) return {};
      if (!terminal()) {
        await fis.send(new StopExperimentCommand({ id: experimentId }));
        const deadline = Date.now() + 60_000;
        while (!terminal() && Date.now() < deadline) {
          await sleep(Math.min(pollMs, 1000));
          await get();
        }
        if (!terminal()) throw new Error(`experiment ${experimentId} still ${status()} 60 s after StopExperiment`);
      }
      return evidence();
    },
  };
}
