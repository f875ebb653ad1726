/** An unusable temporary directory (drp writes downloads and scratch data there) is one line and exit 1. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { oneLineError, runDrp } from "../harness/cli";

describe("drp with an unwritable TMPDIR", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "drp-tmpdir-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("says which directory and how to fix it, exit 1, no stack trace", async () => {
    // A regular file as TMPDIR: nothing can be created under it, even by root.
    const notADir = join(dir, "file");
    writeFileSync(notADir, "");
    const r = await runDrp(["--help"], { TMPDIR: notADir });
    expect(r.code).toBe(1);
    expect(oneLineError(r)).toBe(`drp: the temporary directory ${notADir} is not writable (ENOTDIR); set TMPDIR to a writable directory`);
    expect(r.stdout).toBe("");
  }, 60_000);

  it("runs normally with a writable TMPDIR", async () => {
    const r = await runDrp(["--help"], { TMPDIR: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: drp/);
  }, 60_000);
});
