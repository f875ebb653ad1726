/** `drp code backup|restore`: the plan's own code (git bundle + synthesized stacks) in the DR bucket, and back. */
import { Command, Option } from "commander";
import { DrpError, emit } from "../lib/cli";

function bucketOf(raw?: string): string {
  const { isBucketName } = require("../lib/s3") as typeof import("../lib/s3");
  if (!raw) throw new DrpError("no bucket: pass --bucket or set DRP_DR_BUCKET to the DR bucket's name", 2);
  if (!isBucketName(raw)) throw new DrpError(`--bucket "${raw}" is not a valid S3 bucket name`, 2);
  return raw;
}

export function registerCode(program: Command): void {
  const code = program.command("code").description("The infrastructure code backed up in the DR bucket (survives GitHub being unreachable)");
  code
    .command("backup")
    .description("write a git bundle of every ref (and the synthesized stacks) under code/<time>-<commit>/ of the DR bucket, manifest last")
    .addOption(new Option("--bucket <name>", "DR bucket").env("DRP_DR_BUCKET"))
    .option("--repo <dir>", "repository to bundle", ".")
    .option("--stacks <dir>", "synthesized stacks to include (run npx cdktf synth first), e.g. cdktf.out/stacks")
    .option("--json", "print one JSON object { dir, manifest }")
    .action(async (raw: { bucket?: string; repo: string; stacks?: string; json?: boolean }) => {
      const bucket = bucketOf(raw.bucket);
      const { createS3Client } = require("../lib/s3") as typeof import("../lib/s3");
      const { backupCode } = require("../backups/code-bundle") as typeof import("../backups/code-bundle");
      const r = await backupCode({ s3: createS3Client(), bucket, repo: raw.repo, stacksDir: raw.stacks });
      emit(raw.json === true, r, () => `backed up ${r.manifest.commit.slice(0, 12)} to s3://${bucket}/${r.dir} (${r.manifest.files.map((f) => `${f.name} ${f.bytes} B`).join(", ")})`);
    });
  code
    .command("restore")
    .description("get the code back from the newest complete bundle: sizes and SHA-256 checked, git bundle verify, cloned into --to/repo")
    .addOption(new Option("--bucket <name>", "DR bucket").env("DRP_DR_BUCKET"))
    .requiredOption("--to <dir>", "new, empty directory")
    .option("--dir <prefix>", "a bundle other than the newest: code/<time>-<commit>/")
    .option("--json", "print one JSON object { dir, manifest, repo }")
    .action(async (raw: { bucket?: string; to: string; dir?: string; json?: boolean }) => {
      const bucket = bucketOf(raw.bucket);
      const { createS3Client } = require("../lib/s3") as typeof import("../lib/s3");
      const { restoreCode, CODE_BUNDLE_DIR } = require("../backups/code-bundle") as typeof import("../backups/code-bundle");
      if (raw.dir && !CODE_BUNDLE_DIR.test(raw.dir)) throw new DrpError(`--dir "${raw.dir}" is not a bundle folder such as code/20261127T060000Z-0123456789ab/`, 2);
      const r = await restoreCode({ s3: createS3Client(), bucket, to: raw.to, dir: raw.dir });
      emit(raw.json === true, r, () => `restored ${r.manifest.commit.slice(0, 12)} (committed ${r.manifest.committedAt}) from s3://${bucket}/${r.dir} into ${r.repo}; verified`);
    });
}
