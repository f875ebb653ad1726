/**
 * The export job's image cannot be built here (no Docker engine), so its contract is checked from the
 * sources: entry point and command, files it copies, and that everything the CLI loads survives
 * `npm ci --omit=dev`.
 */
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";

const ROOT = join(__dirname, "..", "..");
const dockerfile = readFileSync(join(ROOT, "scripts/task/Dockerfile"), "utf8");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Bare package names loaded, transitively through relative imports, from `entry`. */
function runtimePackages(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, "utf8");
    // Static imports and requires; `import type` is erased at runtime.
    const specs = [...src.matchAll(/^\s*(?:import(?!\s+type\b)[^"']*?from\s+|import\s+|export\s+[^"']*?from\s+)["']([^"']+)["']|require\(["']([^"']+)["']\)/gm)].map((m) => m[1] ?? m[2]);
    for (const spec of specs) {
      if (spec.startsWith(".")) {
        const base = resolve(dirname(file), spec);
        const target = [base, `${base}.ts`, `${base}/index.ts`].find((p) => existsSync(p) && !p.endsWith("/"));
        if (target && /\.(ts|cjs|js)$/.test(target)) visit(target);
      } else if (!spec.startsWith("node:") && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
      }
    }
  };
  visit(entry);
  return packages;
}

describe("the export job image", () => {
  it("runs drp through node from a bundle built into the image, and exports by default", () => {
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/drp.cjs"]');
    expect(dockerfile).toContain('CMD ["export", "--json"]');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/postgresql-client-\$\{PG_MAJOR\}/);
    // Built after the sources are copied and before the unprivileged user, who cannot write node_modules.
    const build = dockerfile.indexOf("RUN node bin/cli-bundle.cjs");
    expect(build).toBeGreaterThan(dockerfile.indexOf("COPY scripts ./scripts"));
    expect(build).toBeLessThan(dockerfile.indexOf("USER node"));
  });

  it("copies only paths that exist", () => {
    const sources = [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) expect(existsSync(join(ROOT, s))).toBe(true);
  });

  it("needs only production dependencies to load the CLI", () => {
    const used = new Set([...runtimePackages(join(ROOT, "bin/drp.cjs")), ...runtimePackages(join(ROOT, "scripts/drp.ts"))]);
    expect(used).toContain("esbuild");
    expect(used).toContain("@aws-sdk/lib-storage");
    const missing = [...used].filter((p) => !(p in pkg.dependencies));
    expect(missing).toEqual([]);
  });

  it("is built from that Dockerfile and pushed to GHCR with its digest reported", () => {
    const workflow = readFileSync(join(ROOT, ".github/workflows/export-image.yml"), "utf8");
    expect(workflow).toContain("file: scripts/task/Dockerfile");
    expect(workflow).toContain("registry: ghcr.io");
    expect(workflow).toContain("push: true");
    expect(workflow).toContain("steps.build.outputs.digest");
  });
});
