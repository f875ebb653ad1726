/**
 * Loads the drp CLI as one CommonJS bundle of its TypeScript sources, built by esbuild (packages stay in
 * node_modules and load from there). The bundle is kept in node_modules/.cache/drp and rebuilt when a
 * source it was built from changed (size or modification time), so a start is one stat per source
 * instead of transpiling each file: drp is an operator's tool and its start-up counts in every export
 * and restore. Where the cache cannot be written (a read-only image), the bundle is built in memory.
 * `node bin/cli-bundle.cjs` builds the cache ahead (npm's postinstall, the export image, the tests).
 *
 * Each source keeps its own __dirname and __filename, so code that finds files next to it works bundled.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

/** Bumped whenever the build below changes, so an older cached bundle is never used. */
const BUILD = 1;
const BUNDLE_NAME = /^cli-[0-9a-f]{16}\.cjs$/;

/** Gives each TypeScript source its own location, which one bundle file would otherwise replace. */
const moduleLocation = {
  name: "module-location",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = fs.readFileSync(args.path, "utf8");
      if (!/\b__(dirname|filename)\b/.test(source)) return { contents: source, loader: "ts" };
      const header = `const __dirname = ${JSON.stringify(path.dirname(args.path))}, __filename = ${JSON.stringify(args.path)};`;
      return { contents: `${header}\n${source}`, loader: "ts" };
    });
  },
};

/**
 * The bundle of `entry` (relative to `root`), cached in `cacheDir`. drp's own is below; the tests make
 * others in temporary projects.
 */
function bundler({ root, entry, cacheDir }) {
  const index = path.join(cacheDir, "cli.json");

  /** The cached bundle's path if the index names one built here from the sources as they are now. */
  function cachedBundle() {
    let meta;
    try {
      meta = JSON.parse(fs.readFileSync(index, "utf8"));
    } catch {
      return undefined;
    }
    if (meta.build !== BUILD || meta.root !== root || meta.entry !== entry || !BUNDLE_NAME.test(meta.bundle) || !meta.inputs) return undefined;
    for (const [file, [size, mtimeMs]] of Object.entries(meta.inputs)) {
      let st;
      try {
        st = fs.statSync(path.join(root, file));
      } catch {
        return undefined;
      }
      if (st.size !== size || st.mtimeMs !== mtimeMs) return undefined;
    }
    const bundle = path.join(cacheDir, meta.bundle);
    return fs.existsSync(bundle) ? bundle : undefined;
  }

  /** Builds the bundle in memory; a source that does not compile is one line naming it. */
  async function build() {
    const esbuild = require("esbuild");
    let result;
    try {
      result = await esbuild.build({
        absWorkingDir: root,
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        packages: "external",
        charset: "utf8",
        legalComments: "none",
        write: false,
        metafile: true,
        logLevel: "silent",
        plugins: [moduleLocation],
      });
    } catch (e) {
      const first = e.errors && e.errors[0];
      const where = first && first.location ? ` (${first.location.file}:${first.location.line})` : "";
      throw new Error(`cannot build the CLI from its sources: ${first ? first.text : e.message}${where}`);
    }
    const inputs = {};
    for (const file of Object.keys(result.metafile.inputs)) {
      const st = fs.statSync(path.join(root, file));
      inputs[file] = [st.size, st.mtimeMs];
    }
    return { code: result.outputFiles[0].text, inputs };
  }

  /** Writes the bundle under a name of its own, then the index naming it: a reader never sees half of either. */
  function store(code, inputs) {
    const name = `cli-${crypto.createHash("sha256").update(code).digest("hex").slice(0, 16)}.cjs`;
    const write = (file, text) => {
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
    };
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      write(path.join(cacheDir, name), code);
      write(index, JSON.stringify({ build: BUILD, root, entry, bundle: name, inputs }));
      for (const old of fs.readdirSync(cacheDir)) if (BUNDLE_NAME.test(old) && old !== name) fs.rmSync(path.join(cacheDir, old), { force: true });
      return path.join(cacheDir, name);
    } catch {
      return undefined;
    }
  }

  /** The entry's module: from the cache, else built now (and cached if the cache can be written). */
  async function load() {
    const cached = cachedBundle();
    if (cached) return require(cached);
    const { code, inputs } = await build();
    const stored = store(code, inputs);
    if (stored) return require(stored);
    // Not writable: run the bundle from memory, resolving packages as if it were in the cache.
    const filename = path.join(cacheDir, "cli.cjs");
    const mod = new Module(filename, module);
    mod.filename = filename;
    mod.paths = Module._nodeModulePaths(cacheDir);
    mod._compile(code, filename);
    return mod.exports;
  }

  /** Builds the cache now unless it is fresh; false if it cannot be written. */
  async function prepare() {
    if (cachedBundle()) return true;
    const { code, inputs } = await build();
    return Boolean(store(code, inputs));
  }

  return { cachedBundle, load, prepare, cacheDir };
}

const ROOT = path.join(__dirname, "..");
const drp = bundler({ root: ROOT, entry: path.join("scripts", "drp.ts"), cacheDir: path.join(ROOT, "node_modules", ".cache", "drp") });

module.exports = { bundler, drp };

if (require.main === module)
  drp.prepare().then(
    (stored) => {
      if (!stored) process.stderr.write(`drp: warning: cannot write ${drp.cacheDir}; drp will build its bundle in memory at each start\n`);
    },
    (e) => {
      process.stderr.write(`drp: ${e.message}\n`);
      process.exit(1);
    },
  );
