/**
 * The drill environment the chaos scenarios run on, on loopback: PostgreSQL with the storefront's schema,
 * the stand-in AI provider and payment gateway, the storefront wired to each through a fault proxy, and the
 * production Worker in workerd (with its webhook buffer) in front of the storefront, also through a fault
 * proxy. The runner injects faults in the proxies; every probe goes through the Worker. Everything started
 * is stopped by stop(), and PostgreSQL and workerd also on process exit.
 */
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { startAiProvider, startPaymentGateway, type StandIn } from "../drill/dependencies";
import { freePort, startPostgres } from "../drill/postgres";
import { STOREFRONT_SCHEMA, startStorefront, type StorefrontOptions } from "../drill/storefront";
import { startFaultProxy, type FaultProxy } from "./fault-proxy";

const DATABASE = "shop";

/** A stand-in deliberately missing a safeguard (or its database), to show that an experiment can fail. */
export const BROKEN_STAND_INS = ["ai-timeout", "bank-transfer-fallback", "database"] as const;
export type BrokenStandIn = (typeof BROKEN_STAND_INS)[number];

export interface ChaosEnvironmentOptions {
  readonly aiTimeoutMs: number;
  readonly paymentTimeoutMs: number;
  /** Worker bindings shortening the buffer's replay waits (the edge deploys 30 s / 600 s). */
  readonly replayRetryDelaySeconds: number;
  /** Safeguards left out (none by default). */
  readonly broken?: readonly BrokenStandIn[];
}

export interface ChaosEnvironment {
  /** The production Worker in workerd: every probe goes through it. */
  readonly edgeUrl: string;
  readonly appSecret: string;
  readonly proxies: { readonly ai: FaultProxy; readonly payment: FaultProxy; readonly origin: FaultProxy };
  readonly standIns: { readonly ai: StandIn; readonly payment: StandIn };
  readonly broken: readonly BrokenStandIn[];
  /** Runs a read query on the storefront's database. */
  query<T extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Undoes any fault at once (synchronous: also usable from an exit handler). */
  rollbackAllNow(): void;
  stop(): Promise<void>;
}

export async function startChaosEnvironment(o: ChaosEnvironmentOptions, say: (line: string) => void = () => undefined): Promise<ChaosEnvironment> {
  const broken = o.broken ?? [];
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    await Promise.allSettled(stops.splice(0, stops.length).map((s) => s()));
  };
  try {
    say("starting PostgreSQL, the AI provider and payment gateway stand-ins, the storefront, the Worker (workerd)");
    const db = await startPostgres();
    stops.push(() => db.stop());
    await db.createDatabase(DATABASE);
    await db.sql(DATABASE, STOREFRONT_SCHEMA);
    const [ai, payment] = await Promise.all([startAiProvider(), startPaymentGateway()]);
    stops.push(() => ai.stop(), () => payment.stop());
    const aiProxy = await startFaultProxy(ai.url);
    const paymentProxy = await startFaultProxy(payment.url);
    stops.push(() => aiProxy.stop(), () => paymentProxy.stop());
    const appSecret = randomBytes(16).toString("hex");
    const storefrontOptions: StorefrontOptions = {
      name: "primary",
      // A port nobody listens on: the app without its database.
      databaseUrl: broken.includes("database") ? `postgresql://postgres@127.0.0.1:${await freePort()}/${DATABASE}` : db.urlFor(DATABASE),
      appSecret,
      ai: { url: aiProxy.url, timeoutMs: o.aiTimeoutMs },
      payment: { url: paymentProxy.url, timeoutMs: o.paymentTimeoutMs },
      broken: { aiTimeout: broken.includes("ai-timeout"), bankTransferFallback: broken.includes("bank-transfer-fallback") },
    };
    const storefront = await startStorefront(storefrontOptions);
    stops.push(() => storefront.stop());
    const originProxy = await startFaultProxy(storefront.url);
    stops.push(() => originProxy.stop());
    const { startEdgeWorker } = require("../lib/workerd") as typeof import("../lib/workerd");
    const edge = await startEdgeWorker({
      originUrl: originProxy.url,
      maintenance: false,
      appSecret,
      extra: { REPLAY_RETRY_DELAY_SECONDS: String(o.replayRetryDelaySeconds), REPLAY_MAX_DELAY_SECONDS: String(o.replayRetryDelaySeconds * 2) },
    });
    stops.push(() => edge.dispose());
    const proxies = { ai: aiProxy, payment: paymentProxy, origin: originProxy };
    return {
      edgeUrl: edge.url,
      appSecret,
      proxies,
      standIns: { ai, payment },
      broken,
      async query<T extends Record<string, unknown>>(text: string, params: unknown[] = []) {
        const c = new Client({ connectionString: db.urlFor(DATABASE) });
        await c.connect();
        try {
          return (await c.query<T>(text, params)).rows;
        } finally {
          await c.end();
        }
      },
      rollbackAllNow() {
        for (const p of Object.values(proxies)) p.rollback();
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
