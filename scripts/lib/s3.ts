/**
 * The one S3 client factory, s3:// URIs, and S3 errors as one line an operator can act on.
 * Region and credentials come from the AWS SDK's own configuration chain; AWS_ENDPOINT_URL_S3 (or
 * AWS_ENDPOINT_URL) points it at another S3 server, which then gets path-style addressing.
 */
import { S3Client } from "@aws-sdk/client-s3";
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

function timeoutMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new DrpError(`${name}="${raw}" is not a positive number of milliseconds; use e.g. ${fallback} or unset it`, 2);
  return Number(raw);
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
