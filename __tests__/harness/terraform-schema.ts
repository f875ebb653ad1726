/**
 * The pinned providers' schemas, read from the `.jsii` manifests shipped in @cdktf/provider-aws and
 * @cdktf/provider-cloudflare (providers cannot be downloaded here, so `terraform providers schema` is out
 * of reach). Each resource, data source and provider class names its Terraform type in its docs link;
 * each struct property names its Terraform argument (`...#<attribute>`), its type and whether it is
 * optional. The manifests are large (130 MB for AWS), so the compact schema is built once and cached under
 * node_modules/.cache by provider package version.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Bumped when the cached format changes. */
const FORMAT = 2;
export const PROVIDER_PACKAGES = ["@cdktf/provider-aws", "@cdktf/provider-cloudflare"] as const;
const ROOT = join(__dirname, "..", "..");
export const SCHEMA_CACHE_DIR = join(ROOT, "node_modules", ".cache", "drp-terraform-schema");

/** How an argument is written in JSON: a value, a list or set of values, a map, or nested block(s). */
export type FieldKind = "value" | "list" | "map" | "mapOfLists" | "block" | "blocks";

export interface Field {
  readonly kind: FieldKind;
  readonly required: boolean;
  /** Struct name (key into Schema.structs) for block and blocks. */
  readonly struct?: string;
}

export type Struct = Record<string, Field>;

export interface BlockType {
  /** Struct of its arguments. */
  readonly config: string;
  /** Attributes it exports, in Terraform spelling (arguments and computed attributes). */
  readonly attributes: readonly string[];
}

export interface Schema {
  readonly providers: Record<string, BlockType>;
  readonly resources: Record<string, BlockType>;
  readonly dataSources: Record<string, BlockType>;
  readonly structs: Record<string, Struct>;
  /** provider package -> version, for the report. */
  readonly versions: Record<string, string>;
}

type TypeRef = { primitive?: string; fqn?: string; collection?: { kind: "array" | "map"; elementtype: TypeRef }; union?: { types: TypeRef[] } };
interface JsiiProperty {
  name: string;
  optional?: boolean;
  static?: boolean;
  type: TypeRef;
  docs?: { summary?: string; remarks?: string };
}
interface JsiiType {
  fqn: string;
  kind: string;
  base?: string;
  datatype?: boolean;
  interfaces?: string[];
  properties?: JsiiProperty[];
  docs?: { summary?: string };
  initializer?: { parameters?: { name: string; type: TypeRef }[] };
}

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `{@link https://registry.../docs/resources/s3_bucket#bucket_prefix S3Bucket#bucket_prefix}` -> bucket_prefix */
function terraformName(p: JsiiProperty): string | undefined {
  const text = `${p.docs?.summary ?? ""}\n${p.docs?.remarks ?? ""}`;
  const m = /\{@link https:\/\/registry\.terraform\.io\/\S+#([a-z0-9_]+) [^}]*\}/.exec(text);
  return m?.[1];
}

function buildOne(pkg: string): { schema: Omit<Schema, "versions">; version: string } {
  const dir = dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] }));
  const version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
  const types = (JSON.parse(readFileSync(join(dir, ".jsii"), "utf8")) as { types: Record<string, JsiiType> }).types;
  const structs: Record<string, Struct> = {};

  const strip = (t: TypeRef): TypeRef => {
    if (!t.union) return t;
    const rest = t.union.types.filter((x) => x.fqn !== "cdktf.IResolvable");
    return rest.length === 1 ? strip(rest[0]) : { primitive: "any" };
  };
  const isStruct = (fqn?: string) => !!fqn && types[fqn]?.kind === "interface" && types[fqn]?.datatype === true;

  const structProps = (fqn: string): JsiiProperty[] => {
    const t = types[fqn];
    if (!t) return [];
    return [...(t.interfaces ?? []).filter((i) => i.startsWith(`${pkg}.`)).flatMap(structProps), ...(t.properties ?? [])];
  };
  const addStruct = (fqn: string): string => {
    if (structs[fqn]) return fqn;
    const fields: Struct = {};
    structs[fqn] = fields;
    for (const p of structProps(fqn)) {
      const name = terraformName(p);
      if (!name) continue;
      const t = strip(p.type);
      let field: Field;
      if (t.collection?.kind === "array") {
        const el = strip(t.collection.elementtype);
        field = isStruct(el.fqn) ? { kind: "blocks", required: !p.optional, struct: addStruct(el.fqn!) } : { kind: "list", required: !p.optional };
      } else if (t.collection?.kind === "map")
        field = { kind: strip(t.collection.elementtype).collection ? "mapOfLists" : "map", required: !p.optional };
      else if (isStruct(t.fqn)) field = { kind: "block", required: !p.optional, struct: addStruct(t.fqn!) };
      else field = { kind: "value", required: !p.optional };
      fields[name] = field;
    }
    return fqn;
  };

  const providers: Record<string, BlockType> = {};
  const resources: Record<string, BlockType> = {};
  const dataSources: Record<string, BlockType> = {};
  for (const t of Object.values(types)) {
    if (t.kind !== "class") continue;
    const table =
      t.base === "cdktf.TerraformResource" ? resources : t.base === "cdktf.TerraformDataSource" ? dataSources : t.base === "cdktf.TerraformProvider" ? providers : undefined;
    if (!table) continue;
    const tfType = /\{@link https:\/\/registry\.terraform\.io\/\S+ ([a-z0-9_]+)\}/.exec(t.docs?.summary ?? "")?.[1];
    const configRef = t.initializer?.parameters?.find((p) => p.name === "config")?.type;
    if (!tfType || !configRef?.fqn) continue;
    const config = addStruct(configRef.fqn);
    const own = (t.properties ?? []).filter((p) => !p.static && !p.name.endsWith("Input")).map((p) => snake(p.name));
    table[tfType] = { config, attributes: [...new Set([...Object.keys(structs[config]), ...own])].sort() };
  }
  return { schema: { providers, resources, dataSources, structs }, version };
}

let loaded: Schema | undefined;

/** The merged schema of every pinned provider, from the cache when it matches the installed versions. */
export function loadSchema(): Schema {
  if (loaded) return loaded;
  const parts = PROVIDER_PACKAGES.map((pkg) => {
    const dir = dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] }));
    const version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
    const file = join(SCHEMA_CACHE_DIR, `${pkg.replace("/", "+")}@${version}.v${FORMAT}.json`);
    if (existsSync(file)) return { pkg, version, schema: JSON.parse(readFileSync(file, "utf8")) as Omit<Schema, "versions"> };
    const built = buildOne(pkg);
    mkdirSync(SCHEMA_CACHE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(built.schema));
    renameSync(tmp, file);
    return { pkg, version: built.version, schema: built.schema };
  });
  loaded = {
    providers: Object.assign({}, ...parts.map((p) => p.schema.providers)),
    resources: Object.assign({}, ...parts.map((p) => p.schema.resources)),
    dataSources: Object.assign({}, ...parts.map((p) => p.schema.dataSources)),
    structs: Object.assign({}, ...parts.map((p) => p.schema.structs)),
    versions: Object.fromEntries(parts.map((p) => [p.pkg, p.version])),
  };
  return loaded;
}
