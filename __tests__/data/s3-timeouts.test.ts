/** The S3 client's waits are bounded: an endpoint that accepts and never answers fails, naming the endpoint. */
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { DrpError } from "../../scripts/lib/cli";
import { createS3Client, describeS3Error } from "../../scripts/lib/s3";
import { startSilentServer, type SilentServer } from "../harness/silent-tcp";
import { runDrpInProcess } from "../harness/cli";

describe("S3 client against an endpoint that never answers", () => {
  let silent: SilentServer;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(() => silent.stop());

  it("gives up after its retries within the idle timeout, and says which endpoint", async () => {
    // The SDK reads region and credentials from the process environment.
    const vars: Record<string, string> = {
      AWS_ENDPOINT_URL_S3: silent.url,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "us-east-1",
      DRP_S3_IDLE_TIMEOUT_MS: "300",
    };
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    const s3 = createS3Client(process.env);
    try {
      const err = await s3.send(new HeadBucketCommand({ Bucket: "exports" })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeDefined();
      expect(describeS3Error(err, "head bucket")).toBe(
        `head bucket: S3 endpoint ${silent.url} stalled: no data either way for 300 ms (DRP_S3_IDLE_TIMEOUT_MS); check the network and AWS_ENDPOINT_URL_S3, or raise DRP_S3_IDLE_TIMEOUT_MS`,
      );
      // maxAttempts 3: each attempt connected and then timed out.
      expect(silent.accepted()).toBe(3);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      s3.destroy();
    }
  }, 20_000);

  it.each(["0", "-5", "1.5", "soon"])("refuses DRP_S3_IDLE_TIMEOUT_MS=%j with exit 2", (bad) => {
    let err: unknown;
    try {
      createS3Client({ DRP_S3_IDLE_TIMEOUT_MS: bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DrpError);
    expect((err as DrpError).exitCode).toBe(2);
    expect((err as Error).message).toBe(`DRP_S3_IDLE_TIMEOUT_MS="${bad}" is not a positive number of milliseconds; use e.g. 120000 or unset it`);
  });

  it("refuses a bad DRP_S3_ABORT_TIMEOUT_MS before an export starts, with exit 2", async () => {
    const r = await runDrpInProcess(["export", "--bucket", "livestreamsell-dr", "--prefix", "exports/", "--critical-tables", "orders"], {
      DATABASE_URL: "postgresql://postgres@127.0.0.1:9/postgres",
      DRP_S3_ABORT_TIMEOUT_MS: "10s",
    });
    expect(r.error).toMatchObject({ exitCode: 2, message: 'DRP_S3_ABORT_TIMEOUT_MS="10s" is not a positive number of milliseconds; use e.g. 10000 or unset it' });
  });
});
