/**
 * The infrastructure-code backups in the DR bucket, as the backup check reads them: `code/<stamp>-<commit>/`
 * with repo.bundle, stacks.tar.gz and manifest.json written last (the manifest proves a bundle complete).
 */
import { z } from "zod";
import { DrpError } from "../lib/cli";

export const CODE_PREFIX = "code/";
export const CODE_MANIFEST_FILE = "manifest.json";
/** `code/20261127T060000Z-0123456789ab/` */
export const CODE_BUNDLE_DIR = /^code\/(\d{8}T\d{6}Z)-([0-9a-f]{12})\/$/;

const isoInstant = z.iso.datetime({ offset: true });
export const CodeManifestSchema = z.object({
  format: z.literal(1),
  commit: z.string().regex(/^[0-9a-f]{40}$/, "must be a 40-hex commit"),
  committedAt: isoInstant,
  createdAt: isoInstant,
  files: z
    .array(z.object({ name: z.string().min(1), key: z.string().min(1), bytes: z.int().nonnegative(), sha256: z.string().regex(/^[a-f0-9]{64}$/) }))
    .min(1),
});
export type CodeManifest = z.infer<typeof CodeManifestSchema>;

export function parseCodeManifest(text: string, where: string): CodeManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DrpError(`code bundle manifest ${where} is not valid JSON`, 1);
  }
  const r = CodeManifestSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DrpError(`code bundle manifest ${where} is invalid: ${i.path.join(".") || "(root)"}: ${i.message}`, 1);
  }
  return r.data;
}

// ---- writing and reading back a bundle (drp code backup|restore) -------------------------------------

/** `20261127T060000Z-0123456789ab` for a time and a commit. */
export function codeBundleDir(at: Date, commit: string): string {
  return `${CODE_PREFIX}${at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")}-${commit.slice(0, 12)}/`;
}

function git(repo: string, args: string[]): string {
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  try {
    return execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new DrpError(`git ${args[0]} failed in ${repo}: ${(err.stderr || err.message).trim().split("\n")[0]}`, 1);
  }
}

export interface CodeBackupOptions {
  readonly s3: import("@aws-sdk/client-s3").S3Client;
  readonly bucket: string;
  /** The repository to bundle (every ref). */
  readonly repo: string;
  /** cdktf.out/stacks to include as stacks.tar.gz; omitted: the bundle alone. */
  readonly stacksDir?: string;
  readonly now?: () => Date;
}

/**
 * Writes a git bundle of every ref (and the synthesized stacks) under code/<time>-<commit>/ of the DR
 * bucket, hashing each file, and the manifest last: a bundle without a manifest is incomplete.
 */
export async function backupCode(o: CodeBackupOptions): Promise<{ dir: string; manifest: CodeManifest }> {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  const { mkdtempSync, readFileSync, rmSync, existsSync } = require("node:fs") as typeof import("node:fs");
  const { tmpdir } = require("node:os") as typeof import("node:os");
  const { join } = require("node:path") as typeof import("node:path");
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  const { PutObjectCommand } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const commit = git(o.repo, ["rev-parse", "HEAD"]);
  const committedAt = new Date(git(o.repo, ["log", "-1", "--format=%cI"])).toISOString();
  const createdAt = (o.now ?? (() => new Date()))();
  const dir = codeBundleDir(createdAt, commit);
  const work = mkdtempSync(join(tmpdir(), "drp-code-"));
  try {
    const files: { name: string; path: string }[] = [{ name: "repo.bundle", path: join(work, "repo.bundle") }];
    git(o.repo, ["bundle", "create", files[0].path, "--all"]);
    if (o.stacksDir) {
      if (!existsSync(o.stacksDir)) throw new DrpError(`${o.stacksDir} does not exist; run npx cdktf synth first, or leave out --stacks`, 2);
      const tgz = join(work, "stacks.tar.gz");
      execFileSync("tar", ["-czf", tgz, "-C", o.stacksDir, "."]);
      files.push({ name: "stacks.tar.gz", path: tgz });
    }
    const entries = [];
    for (const f of files) {
      const body = readFileSync(f.path);
      const key = `${dir}${f.name}`;
      await o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: body }));
      entries.push({ name: f.name, key, bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") });
    }
    const manifest: CodeManifest = { format: 1, commit, committedAt, createdAt: createdAt.toISOString(), files: entries };
    await o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: `${dir}${CODE_MANIFEST_FILE}`, Body: `${JSON.stringify(manifest, null, 2)}\n`, ContentType: "application/json" }));
    return { dir, manifest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Gets the code back from the newest complete bundle (or `dir`): downloads each file, checks its size and
 * SHA-256 against the manifest, `git bundle verify`, then clones it into `to/repo` (and unpacks the
 * stacks into `to/stacks`).
 */
export async function restoreCode(o: { s3: import("@aws-sdk/client-s3").S3Client; bucket: string; to: string; dir?: string }): Promise<{ dir: string; manifest: CodeManifest; repo: string }> {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  const { existsSync, mkdirSync, readdirSync, writeFileSync } = require("node:fs") as typeof import("node:fs");
  const { join } = require("node:path") as typeof import("node:path");
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  const { GetObjectCommand, ListObjectsV2Command } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  if (existsSync(o.to) && readdirSync(o.to).length) throw new DrpError(`${o.to} is not empty; restore the code into a new directory`, 2);
  let dir = o.dir;
  if (!dir) {
    const dirs: string[] = [];
    let token: string | undefined;
    do {
      const page = await o.s3.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: CODE_PREFIX, ContinuationToken: token }));
      for (const obj of page.Contents ?? []) if (obj.Key?.endsWith(`/${CODE_MANIFEST_FILE}`)) dirs.push(obj.Key.slice(0, -CODE_MANIFEST_FILE.length));
      token = page.NextContinuationToken;
    } while (token);
    dir = dirs.filter((d) => CODE_BUNDLE_DIR.test(d)).sort().at(-1);
    if (!dir) throw new DrpError(`no complete code bundle under s3://${o.bucket}/${CODE_PREFIX}; the backup workflow has not run, or its manifests are missing`, 1);
  }
  const read = async (key: string) => Buffer.from(await (await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: key }))).Body!.transformToByteArray());
  const manifest = parseCodeManifest((await read(`${dir}${CODE_MANIFEST_FILE}`)).toString("utf8"), `s3://${o.bucket}/${dir}${CODE_MANIFEST_FILE}`);
  mkdirSync(o.to, { recursive: true });
  for (const f of manifest.files) {
    const body = await read(f.key);
    const sha = createHash("sha256").update(body).digest("hex");
    if (body.length !== f.bytes || sha !== f.sha256) throw new DrpError(`s3://${o.bucket}/${f.key} does not match its manifest (${body.length} bytes, sha256 ${sha.slice(0, 12)}...); use an older bundle with --dir`, 1);
    writeFileSync(join(o.to, f.name), body);
  }
  const bundle = join(o.to, "repo.bundle");
  const repo = join(o.to, "repo");
  execFileSync("git", ["init", "--quiet", repo]);
  git(repo, ["bundle", "verify", "--quiet", bundle]);
  git(repo, ["fetch", "--quiet", bundle, "+refs/*:refs/remotes/bundle/*"]);
  git(repo, ["checkout", "--quiet", manifest.commit]);
  if (existsSync(join(o.to, "stacks.tar.gz"))) {
    mkdirSync(join(o.to, "stacks"));
    execFileSync("tar", ["-xzf", join(o.to, "stacks.tar.gz"), "-C", join(o.to, "stacks")]);
  }
  return { dir, manifest, repo };
}
