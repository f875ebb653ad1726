/**
 * An offline stand-in for `terraform validate`, from parts we did not write: every string of a synthesized
 * stack is parsed as a template by HashiCorp's HCL parser (@cdktf/hcl2json, WebAssembly), every reference
 * must name a resource, data source, variable or local of the same stack with an attribute its type
 * exports, and every block is checked against the pinned providers' schemas (./terraform-schema): known
 * keys at every depth, required arguments present, blocks written as blocks and values as values.
 */
import { getExpressionAst } from "@cdktf/hcl2json";
import { findAllReferencesInAst } from "@cdktf/hcl2json/lib/references";
import { loadSchema, type BlockType, type Field, type Schema, type Struct } from "./terraform-schema";

export interface Problem {
  readonly stack: string;
  /** Terraform address: aws_s3_bucket.x, data.aws_x.y, provider.aws, terraform. */
  readonly address: string;
  /** Key path inside the block, e.g. rule[0].filter.prefix. */
  readonly path: string;
  readonly problem: string;
}

type Json = Record<string, unknown>;
const META = new Set(["//", "depends_on", "count", "for_each", "provider", "lifecycle", "provisioner", "connection"]);
const DATA_META = new Set(["//", "depends_on", "count", "for_each", "provider", "lifecycle"]);
/** Types Terraform itself provides (no provider schema). */
const BUILTIN: Record<string, readonly string[]> = { terraform_remote_state: ["outputs"], terraform_data: ["id", "output", "input", "triggers_replace"] };
const WHOLE_REFERENCE = /^\$\{[^]*\}$/;

const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);
const join = (path: string, key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A template as Terraform reads a JSON string: no backslash escapes, `$${` and `%%{` are the escapes. */
function heredoc(text: string): string {
  let marker = "DRPEOT";
  while (text.includes(marker)) marker += "X";
  return `<<${marker}\n${text}\n${marker}\n`;
}

interface Context {
  readonly stack: string;
  readonly schema: Schema;
  readonly tf: Json;
  readonly out: Problem[];
  readonly templates: { address: string; path: string; text: string; iterator: "each" | "count" | undefined }[];
}

function checkValue(ctx: Context, address: string, path: string, field: Field, value: unknown): void {
  if (typeof value === "string" && WHOLE_REFERENCE.test(value)) return;
  const add = (problem: string) => ctx.out.push({ stack: ctx.stack, address, path, problem });
  switch (field.kind) {
    case "value":
      if (value !== null && typeof value === "object") add(`expects a single value, got ${Array.isArray(value) ? "a list" : "an object (block)"}`);
      return;
    case "list":
      if (!Array.isArray(value)) add("expects a list");
      else value.forEach((v, i) => v !== null && typeof v === "object" && add(`element ${i} of a list of values is ${Array.isArray(v) ? "a list" : "an object"}`));
      return;
    case "map":
    case "mapOfLists":
      if (!isObject(value)) add("expects a map (JSON object)");
      else
        for (const [k, v] of Object.entries(value)) {
          const ok = field.kind === "map" ? v === null || typeof v !== "object" : Array.isArray(v) || (typeof v === "string" && WHOLE_REFERENCE.test(v));
          if (!ok) ctx.out.push({ stack: ctx.stack, address, path: join(path, k), problem: field.kind === "map" ? "map values must be single values" : "map values must be lists" });
        }
      return;
    case "block":
    case "blocks": {
      const items = Array.isArray(value) ? value : [value];
      items.forEach((item, i) => {
        const at = Array.isArray(value) ? join(path, i) : path;
        if (!isObject(item)) ctx.out.push({ stack: ctx.stack, address, path: at, problem: "expects a block (JSON object), got a value" });
        else checkStruct(ctx, address, at, ctx.schema.structs[field.struct!], item, new Set(["//"]));
      });
      return;
    }
  }
}

function checkStruct(ctx: Context, address: string, path: string, struct: Struct, block: Json, meta: Set<string>): void {
  for (const [key, value] of Object.entries(block)) {
    if (meta.has(key)) continue;
    const field = struct[key];
    if (!field) {
      ctx.out.push({ stack: ctx.stack, address, path: join(path, key), problem: `unsupported argument "${key}"` });
      continue;
    }
    if (value === null || value === undefined) continue;
    checkValue(ctx, address, join(path, key), field, value);
  }
  for (const [key, field] of Object.entries(struct))
    if (field.required && (block[key] === undefined || block[key] === null))
      ctx.out.push({ stack: ctx.stack, address, path: join(path, key), problem: `missing required argument "${key}"` });
}

function collectTemplates(ctx: Context, address: string, path: string, value: unknown, iterator: "each" | "count" | undefined): void {
  if (typeof value === "string") {
    if (value.includes("${") || value.includes("%{")) ctx.templates.push({ address, path, text: value, iterator });
  } else if (Array.isArray(value)) value.forEach((v, i) => collectTemplates(ctx, address, join(path, i), v, iterator));
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) {
      if (k === "//") continue;
      if (k.includes("${") || k.includes("%{")) ctx.templates.push({ address, path: join(path, k), text: k, iterator });
      collectTemplates(ctx, address, join(path, k), v, iterator);
    }
}

function referenceProblem(ctx: Context, ref: string, iterator: "each" | "count" | undefined): string | undefined {
  const parts = ref.split(".");
  const [root] = parts;
  const resources = (ctx.tf.resource ?? {}) as Record<string, Json>;
  const data = (ctx.tf.data ?? {}) as Record<string, Json>;
  const attrOf = (type: BlockType | undefined, builtin: readonly string[] | undefined, attr: string | undefined, what: string) => {
    if (attr === undefined || /^\d+$/.test(attr) || attr.startsWith('"')) return undefined;
    const known = type?.attributes ?? builtin;
    if (!known) return `${what}: type is not in the pinned providers' schemas`;
    return known.includes(attr) || known.includes(camel(attr)) ? undefined : `${what}: type does not export attribute "${attr}"`;
  };
  const skipIndex = (i: number) => (parts[i] !== undefined && (/^\d+$/.test(parts[i]) || parts[i].startsWith('"')) ? i + 1 : i);
  switch (root) {
    case "var":
      return isObject(ctx.tf.variable) && parts[1] in ctx.tf.variable ? undefined : `reference to undeclared variable "${parts[1]}"`;
    case "local":
      return isObject(ctx.tf.locals) && parts[1] in ctx.tf.locals ? undefined : `reference to undeclared local "${parts[1]}"`;
    case "each":
      return iterator === "each" ? undefined : `"${ref}" outside a block with for_each`;
    case "count":
      return iterator === "count" ? undefined : `"${ref}" outside a block with count`;
    case "self":
    case "path":
    case "terraform":
      return undefined;
    case "data": {
      const [, type, name] = parts;
      if (!data[type] || !isObject(data[type]) || !(name in (data[type] as Json))) return `reference to undeclared data source data.${type}.${name}`;
      return attrOf(ctx.schema.dataSources[type], BUILTIN[type], parts[skipIndex(3)], `data.${type}.${name}`);
    }
    default: {
      if (parts.length < 2) return `invalid reference "${ref}": not a resource, data source, variable or local (escape a literal "\${" as "$\${")`;
      const [type, name] = parts;
      if (!resources[type] || !(name in (resources[type] as Json))) return `reference to undeclared resource ${type}.${name} ("${ref}"; escape a literal "\${" as "$\${")`;
      return attrOf(ctx.schema.resources[type], BUILTIN[type], parts[skipIndex(2)], `${type}.${name}`);
    }
  }
}

async function checkTemplates(ctx: Context): Promise<void> {
  for (const t of ctx.templates) {
    const add = (problem: string) => ctx.out.push({ stack: ctx.stack, address: t.address, path: t.path, problem });
    const wrapped = heredoc(t.text);
    let ast;
    try {
      ast = await getExpressionAst("cdk.tf.json", wrapped);
    } catch (e) {
      const detail = String((e as Error).message).replace(/^[^]*?cdk\.tf\.json:[\d,-]+: /, "").replace(/\s+$/, "");
      add(`not a valid Terraform template: ${detail} (escape a literal "\${" as "$\${" and "%{" as "%%{")`);
      continue;
    }
    for (const ref of findAllReferencesInAst(wrapped, ast)) {
      const problem = referenceProblem(ctx, ref.value, t.iterator);
      if (problem) add(problem);
    }
  }
}

/** Validates one stack's synthesized JSON (as in cdk.tf.json); returns every problem found. */
export async function validateStack(stack: string, tf: Json, schema: Schema = loadSchema()): Promise<Problem[]> {
  const ctx: Context = { stack, schema, tf, out: [], templates: [] };
  const add = (address: string, path: string, problem: string) => ctx.out.push({ stack, address, path, problem });
  for (const [name, configs] of Object.entries((tf.provider ?? {}) as Record<string, Json[]>)) {
    const type = schema.providers[name];
    for (const [i, config] of configs.entries()) {
      const address = `provider.${name}${configs.length > 1 ? `[${i}]` : ""}`;
      if (!type) add(address, "", `provider "${name}" is not one of the pinned providers`);
      else checkStruct(ctx, address, "", schema.structs[type.config], config, new Set(["//", "alias"]));
      collectTemplates(ctx, address, "", config, undefined);
    }
  }
  for (const [kind, table, meta] of [
    ["resource", schema.resources, META],
    ["data", schema.dataSources, DATA_META],
  ] as const) {
    for (const [type, byName] of Object.entries((tf[kind] ?? {}) as Record<string, Record<string, Json>>))
      for (const [name, block] of Object.entries(byName)) {
        const address = `${kind === "data" ? "data." : ""}${type}.${name}`;
        const blockType = table[type];
        if (!blockType && !BUILTIN[type]) add(address, "", `${kind === "data" ? "data source" : "resource"} type "${type}" is not in the pinned providers' schemas`);
        else if (blockType) checkStruct(ctx, address, "", schema.structs[blockType.config], block, new Set(meta));
        const iterator = block.for_each !== undefined ? "each" : block.count !== undefined ? "count" : undefined;
        collectTemplates(ctx, address, "", block, iterator);
        for (const [i, dep] of ((block.depends_on as string[] | undefined) ?? []).entries()) {
          const bare = dep.replace(/^\$\{(.*)\}$/, "$1");
          const problem = referenceProblem(ctx, bare, iterator);
          if (problem) add(address, `depends_on[${i}]`, problem);
        }
      }
  }
  for (const [key, value] of Object.entries(tf))
    if (!["resource", "data", "provider", "//"].includes(key)) collectTemplates(ctx, key, "", value, undefined);
  await checkTemplates(ctx);
  return ctx.out;
}

export function formatProblem(p: Problem): string {
  return `${p.stack}: ${p.address}${p.path ? ` ${p.path}` : ""}: ${p.problem}`;
}
