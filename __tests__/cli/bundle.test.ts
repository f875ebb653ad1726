/**
 * bin/cli-bundle.cjs: drp starts from one cached esbuild bundle of its sources. Checked on a small
 * project of its own (a temporary directory) and on drp's own cache.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDrp } from "../harness/cli";

interface Bundler {
  cachedBundle(): string | undefined;
  load(): Promise<{ main(): { here: string; file: string; value: number } }>;
  prepare(): Promise<boolean>;
}
const { bundler, drp } = require("../../bin/cli-bundle.cjs") as {
  bundler(o: { root: string; entry: string; cacheDir: string }): Bundler;
  drp: Bundler & { cacheDir: string };
};

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "drp-bundle-test-"));
  mkdirSync(join(root, "scripts", "lib"), { recursive: true });
  writeFileSync(join(root, "scripts", "entry.ts"), 'import { here, value } from "./lib/where";\nexport const main = () => ({ here, file: __filename, value });\n');
  writeFileSync(join(root, "scripts", "lib", "where.ts"), "export const here: string = __dirname;\nexport const value: number = 1;\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const project = (cacheDir = join(root, "cache")) => bundler({ root, entry: join("scripts", "entry.ts"), cacheDir });

describe("the CLI bundle", () => {
  it("is built once and cached; each source keeps its own __dirname and __filename", async () => {
    const b = project();
    expect(b.cachedBundle()).toBeUndefined();
    const out = (await b.load()).main();
    expect(out).toEqual({ here: join(root, "scripts", "lib"), file: join(root, "scripts", "entry.ts"), value: 1 });
    const cached = b.cachedBundle();
    expect(cached).toMatch(/cache\/cli-[0-9a-f]{16}\.cjs$/);
    const index = JSON.parse(readFileSync(join(root, "cache", "cli.json"), "utf8")) as { inputs: Record<string, unknown> };
    expect(Object.keys(index.inputs).sort()).toEqual([join("scripts", "entry.ts"), join("scripts", "lib", "where.ts")]);
    expect(await b.prepare()).toBe(true);
    expect(b.cachedBundle()).toBe(cached);
  });

  it("is rebuilt when a source changes, and the old bundle removed", async () => {
    const b = project();
    await b.prepare();
    const first = b.cachedBundle();
    writeFileSync(join(root, "scripts", "lib", "where.ts"), "export const here: string = __dirname;\nexport const value: number = 22;\n");
    expect(b.cachedBundle()).toBeUndefined();
    expect((await b.load()).main().value).toBe(22);
    expect(b.cachedBundle()).not.toBe(first);
    expect(readdirSync(join(root, "cache")).sort()).toEqual([b.cachedBundle()!.split("/").pop(), "cli.json"].sort());
  });

  it("says in one line which source does not compile", async () => {
    writeFileSync(join(root, "scripts", "lib", "where.ts"), "export const here = ;\n");
    await expect(project().load()).rejects.toThrow(/^cannot build the CLI from its sources: .+ \(scripts\/lib\/where\.ts:1\)$/);
  });

  it("runs from memory when the cache cannot be written", async () => {
    writeFileSync(join(root, "not-a-dir"), "");
    const b = project(join(root, "not-a-dir", "cache"));
    expect((await b.load()).main()).toMatchObject({ here: join(root, "scripts", "lib"), value: 1 });
    expect(b.cachedBundle()).toBeUndefined();
    expect(await b.prepare()).toBe(false);
  });

  it("holds drp itself, built from the sources as they are", async () => {
    expect(await drp.prepare()).toBe(true);
    const index = JSON.parse(readFileSync(join(drp.cacheDir, "cli.json"), "utf8")) as { inputs: Record<string, unknown> };
    expect(Object.keys(index.inputs)).toEqual(expect.arrayContaining(["scripts/drp.ts", "scripts/data/restore.ts", "package.json"]));
    const r = await runDrp(["--version"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version);
  });
});
