/**
 * A real S3-protocol server (the drill's DR bucket, and the tests' S3): moto (`python3 -m moto.server`) on a free loopback port, with a DR-like
 * bucket (Object Lock, versioning, GOVERNANCE default retention of one day). Points the AWS SDK at it
 * through the standard variables (AWS_ENDPOINT_URL_S3, fake credentials, region).
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createS3Client } from "../lib/s3";
import { freePort } from "./postgres";

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  /** The server's process id (the benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** The variables that point the SDK at this server. */
  readonly env: Readonly<Record<string, string>>;
  readonly s3: S3Client;
  /** Creates a bucket; by default like the DR bucket (Object Lock + versioning + default retention). */
  createBucket(name: string, opts?: { objectLock?: boolean }): Promise<void>;
  /** Every object version under a prefix (keys only). */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** Multipart uploads that were started and never completed or aborted. */
  pendingUploads(bucket: string): Promise<number>;
  stop(): Promise<void>;
}

async function waitReady(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited (${child.exitCode}): ${log()}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto did not start within 20 s: ${log()}`);
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  // A crashed test run must not leave the server behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  try {
    await waitReady(endpoint, child, () => output);
  } catch (e) {
    // Never leave a half-started server behind, whichever way startup failed.
    process.off("exit", killOnExit);
    child.kill("SIGKILL");
    throw e;
  }

  const env = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "us-west-2",
    AWS_EC2_METADATA_DISABLED: "true",
  };
  Object.assign(process.env, env);
  delete process.env.AWS_PROFILE;
  const s3 = createS3Client(process.env);

  return {
    endpoint,
    port,
    pid: child.pid,
    env,
    s3,
    async createBucket(name, opts = {}) {
      const lock = opts.objectLock ?? true;
      await s3.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: "us-west-2" }, ObjectLockEnabledForBucket: lock }));
      await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Enabled" } }));
      if (lock)
        await s3.send(
          new PutObjectLockConfigurationCommand({
            Bucket: name,
            ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } },
          }),
        );
    },
    async listKeys(bucket, prefix) {
      const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
      return (out.Versions ?? []).map((v) => v.Key!);
    },
    async pendingUploads(bucket) {
      const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return out.Uploads?.length ?? 0;
    },
    async stop() {
      process.off("exit", killOnExit);
      s3.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
}
