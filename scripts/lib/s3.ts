/**
 * The one S3 client factory, s3:// URIs, and S3 errors as one line an operator can act on.
 * Region and credentials come from the AWS SDK's own configuration chain; AWS_ENDPOINT_URL_S3 (or
 * AWS_ENDPOINT_URL) points it at another S3 server, which then gets path-style addressing.
 */
import { AbortMultipartUploadCommand, ListPartsCommand, S3Client } from "@aws-sdk/client-s3";
import { DrpError } from "./cli";

// Node 20 is the project's pinned runtime; the SDK's multi-line advisory would break one-line output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export function s3Endpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = s3Endpoint(env);
  if (endpoint && !/^https?:\/\/[^/\s]+/.test(endpoint))
    throw new DrpError(`AWS_ENDPOINT_URL_S3="${endpoint}" is not a URL; use e.g. http://127.0.0.1:5000 or unset it`, 2);
  return new S3Client({
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // An explicit env (a bucket in another region) names its region; otherwise the SDK's chain decides.
    ...(env !== process.env && env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    // Retries stay short so an unreachable endpoint fails in seconds, not minutes.
    maxAttempts: 3,
    // Bounded waits: a connect that never completes, or a socket that goes silent mid-request (an
    // endpoint that accepts and never answers, a stalled proxy), fails that attempt instead of hanging.
    requestHandler: {
      connectionTimeout: timeoutMs(env, "DRP_S3_CONNECT_TIMEOUT_MS", S3_CONNECT_TIMEOUT_MS),
      // socketTimeout is the idle timeout (no byte either way); requestTimeout would cap a whole part upload.
      socketTimeout: timeoutMs(env, "DRP_S3_IDLE_TIMEOUT_MS", S3_IDLE_TIMEOUT_MS),
    },
  });
}

/** Default connect timeout for S3: generous for a distant region, short enough to fail fast. */
export const S3_CONNECT_TIMEOUT_MS = 10_000;
/** Default socket idle timeout for S3: no byte either way for this long fails the attempt (then retried). */
export const S3_IDLE_TIMEOUT_MS = 120_000;

/**
 * Default bound on aborting an unfinished multipart upload when an export fails or is interrupted:
 * the process waits this long for S3 to confirm, then exits anyway (the DR bucket's lifecycle rule
 * removes what is left after a day).
 */
export const S3_ABORT_TIMEOUT_MS = 10_000;

/** DRP_S3_ABORT_TIMEOUT_MS, validated (exit 2 for a bad value). */
export function s3AbortTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return timeoutMs(env, "DRP_S3_ABORT_TIMEOUT_MS", S3_ABORT_TIMEOUT_MS);
}

function timeoutMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new DrpError(`${name}="${raw}" is not a positive number of milliseconds; use e.g. ${fallback} or unset it`, 2);
  return Number(raw);
}

export interface MultipartGuard {
  /**
   * Aborts every multipart upload this client started for the key and checks it is gone, within the
   * bound. Runs once (later calls share it) and never throws: resolves to why it could not, or undefined.
   */
  abort(): Promise<string | undefined>;
  /** Stops watching the client (call it when the upload is over, whichever way). */
  dispose(): void;
}

let guardCount = 0;

/**
 * Watches `s3` for the CreateMultipartUpload of bucket/key, so that a failed or interrupted upload can
 * be aborted by its id: lib-storage's own `abort()` only signals, and sends AbortMultipartUpload only
 * after its in-flight parts end, by which time drp may have exited. Needs s3:AbortMultipartUpload and
 * s3:ListMultipartUploadParts on the key, nothing bucket-wide.
 */
export function guardMultipartUpload(s3: S3Client, bucket: string, key: string, boundMs: number): MultipartGuard {
  const name = `drpMultipartGuard${++guardCount}`;
  const created: Promise<string | undefined>[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      if (context.commandName !== "CreateMultipartUploadCommand" || input.Bucket !== bucket || input.Key !== key) return next(args);
      const result = next(args);
      created.push(result.then((r) => (r.output as { UploadId?: string }).UploadId, () => undefined));
      return result;
    },
    { step: "initialize", name },
  );

  const abortAll = async (): Promise<string | undefined> => {
    const deadline = Date.now() + boundMs;
    const signal = () => ({ abortSignal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A CreateMultipartUpload still in flight would start an upload after the abort: wait for its id.
    const ids = await Promise.race([
      Promise.all(created),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(1, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (!ids) return `S3 did not answer the upload's start within ${boundMs} ms`;
    const problems: string[] = [];
    for (const id of new Set(ids.filter((i): i is string => Boolean(i)))) {
      // S3: a part still uploading during the abort may land after it; abort until ListParts says the upload is gone.
      for (let round = 1; ; round++) {
        try {
          await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }), signal());
        } catch (e) {
          if (!isNoSuchUpload(e)) {
            problems.push(describeS3Error(e, `AbortMultipartUpload ${id}`));
            break;
          }
        }
        try {
          await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id, MaxParts: 1 }), signal());
        } catch (e) {
          if (!isNoSuchUpload(e)) problems.push(describeS3Error(e, `ListParts ${id}`));
          break;
        }
        if (round === 3 || Date.now() >= deadline) {
          problems.push(`upload ${id} still listed after ${round} aborts`);
          break;
        }
      }
    }
    return problems.length ? problems.join("; ") : undefined;
  };

  let aborting: Promise<string | undefined> | undefined;
  return {
    abort: () => (aborting ??= abortAll().catch((e: unknown) => String((e as Error)?.message ?? e))),
    dispose: () => {
      s3.middlewareStack.remove(name);
    },
  };
}

function isNoSuchUpload(e: unknown): boolean {
  return (e as SdkError)?.name === "NoSuchUpload" || (e as SdkError)?.Code === "NoSuchUpload" || s3Status(e) === 404;
}

/** What an operator is told when the unfinished upload could not be aborted. */
export function abortFailedNote(uri: string, why: string): string {
  return `the unfinished upload of ${uri} could not be aborted (${why}); the DR bucket's abort-incomplete-uploads lifecycle rule removes its parts after a day`;
}

/**
 * Skips SigV4's own SHA-256 of each multipart part: the export already hashes the whole stream, and
 * every part stays integrity-checked by its CRC32 checksum header (which the signature covers) and TLS.
 */
export function skipPartPayloadHash(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (context.commandName === "UploadPartCommand" && request.headers) request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      return next(args);
    },
    { step: "build", name: "drpUnsignedPartPayload", override: true },
  );
}

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isBucketName(name: string): boolean {
  return BUCKET.test(name) && !name.includes("..");
}

export function parseS3Uri(uri: string, what = "URI"): S3Location {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new DrpError(`${what} "${uri}" is not an s3:// URI; use s3://BUCKET/KEY`, 2);
  const [, bucket, key] = m;
  if (!isBucketName(bucket)) throw new DrpError(`${what} "${uri}" names an invalid bucket "${bucket}"`, 2);
  return { bucket, key };
}

export function s3Uri(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

/** The HTTP status of an SDK error, if the server answered at all. */
export function s3Status(e: unknown): number | undefined {
  return (e as SdkError)?.$metadata?.httpStatusCode;
}

export function isS3NotFound(e: unknown): boolean {
  const err = e as SdkError;
  return s3Status(e) === 404 || ["NoSuchKey", "NotFound", "NoSuchVersion"].includes(err?.name ?? "");
}

/** One line naming what failed, why, and where to look. */
export function describeS3Error(e: unknown, action: string): string {
  const err = (e ?? {}) as SdkError;
  const name = err.name ?? "";
  // Errors from another realm reach us only as text ("AWS SDK error wrapper for Error: connect ECONNREFUSED ...").
  const code = err.code ?? /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE)\b/.exec(String(err.message ?? ""))?.[1] ?? "";
  const status = s3Status(e);
  const endpoint = s3Endpoint() ?? "AWS S3";
  const firstLine = String(err.message ?? e).split("\n")[0];
  if (isIdleTimeout(e))
    return `${action}: S3 endpoint ${endpoint} stalled: no data either way for ${idleTimeoutMs()} ms (DRP_S3_IDLE_TIMEOUT_MS); check the network and AWS_ENDPOINT_URL_S3, or raise DRP_S3_IDLE_TIMEOUT_MS`;
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE"].includes(code) || name === "TimeoutError")
    return `${action}: S3 endpoint ${endpoint} unreachable (${code || name}); check AWS_ENDPOINT_URL_S3, AWS_REGION and the network`;
  if (name === "NoSuchBucket") return `${action}: bucket does not exist; check the bucket name and AWS_REGION`;
  if (isS3NotFound(e)) return `${action}: object not found`;
  if (name === "AccessDenied" || status === 403)
    return `${action}: access denied (${name || 403}); check the credentials and the IAM policy`;
  if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "CredentialsProviderError"].includes(name))
    return `${action}: AWS credentials rejected or missing (${name}); check AWS_PROFILE / AWS_ACCESS_KEY_ID`;
  return `${action}: ${name && name !== "Error" ? `${name}: ` : ""}${firstLine}`;
}

/**
 * The SDK's socket idle timeout (an endpoint or a network that stopped sending mid-request or mid-body),
 * as opposed to a connect timeout: smithy's node-http-handler names both TimeoutError.
 */
export function isIdleTimeout(e: unknown): boolean {
  const err = e as SdkError;
  return err?.name === "TimeoutError" && /socket timed out after \d+ ms of inactivity/.test(String(err.message ?? ""));
}

function idleTimeoutMs(): number {
  try {
    return timeoutMs(process.env, "DRP_S3_IDLE_TIMEOUT_MS", S3_IDLE_TIMEOUT_MS);
  } catch {
    return S3_IDLE_TIMEOUT_MS;
  }
}
