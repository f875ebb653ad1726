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
