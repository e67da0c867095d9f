/**
 * Writes `pulumi-plugin/schema.json`: the Pulumi package schema of cleanimg's plugin package, read
 * from the TypeScript types of the components' args and outputs, with their doc comments.
 *
 *   npx tsx scripts/pulumi-schema.ts          # write it
 *   npx tsx scripts/pulumi-schema.ts --check  # exit 1 when the file is stale
 *
 * Pulumi's own inference (`componentProviderHost`) refuses unions, intersections and components that
 * extend another class, all of which our args use (`service?: boolean | ServiceOptions`, a port as
 * a number or a name, HardenedDeployment extends HardenedWorkload). This generator maps them
 * instead: a union of different kinds becomes `oneOf`, string literals a string whose description
 * lists the values, `pulumi.Input<T>` is T (an input property), a `Record` a map, an array of T an
 * array, every other object a named type. What no other language can pass (callbacks, instances of
 * TypeScript classes such as a HardenedWorkload) is left out and listed in `TYPESCRIPT_ONLY`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { OPTIONAL_OUTPUTS, PLUGIN_COMPONENT_OUTPUTS } from '../src/pulumi/plugin/components';

const REPO = join(__dirname, '..');
export const SCHEMA_FILE = join(REPO, 'pulumi-plugin', 'schema.json');
const PACKAGE = 'cleanimg';

type Spec = Record<string, unknown>;

interface Ctx {
  checker: ts.TypeChecker;
  types: Record<string, Spec>;
  /** Type id to the name it was given, so one TypeScript type becomes one schema type. */
  named: Map<number, string>;
  /** `Component.prop.path` of what was left out, and why. */
  omitted: string[];
}

const typeId = (t: ts.Type) => (t as unknown as { id: number }).id;
const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Doc text and `@default` of a property, as one description. */
function docOf(sym: ts.Symbol, checker: ts.TypeChecker): string | undefined {
  const text = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
  const dflt = sym.getJsDocTags(checker).find((t) => t.name === 'default');
  const d = dflt?.text ? ts.displayPartsToString(dflt.text).trim() : undefined;
  const all = [text, d ? `Default: ${d}.` : ''].filter(Boolean).join(' ');
  return all || undefined;
}

/** The name of a class or interface the type is declared as, when it is a Pulumi or Promise wrapper. */
function wrapperName(t: ts.Type): string | undefined {
  const name = (t.aliasSymbol ?? t.getSymbol())?.getName();
  return name && ['Promise', 'PromiseLike', 'OutputInstance', 'Output', 'Input'].includes(name) ? name : undefined;
}

/** Interfaces that only TypeScript objects satisfy (an EnvConfig component passed as itself). */
const TYPESCRIPT_ONLY_TYPES = new Set(['PulumiAttachmentSource']);

/** Is `t` an instance of a class (a resource, a workload component): nothing another language can pass. */
function isClassInstance(t: ts.Type): boolean {
  const sym = t.getSymbol();
  const decl = sym?.declarations?.[0];
  return (!!decl && ts.isClassDeclaration(decl)) || TYPESCRIPT_ONLY_TYPES.has(sym?.getName() ?? '');
}

/** Union members with Outputs and Promises unwrapped (they only say the value may come later). */
function members(t: ts.Type, ctx: Ctx): { types: ts.Type[]; input: boolean } {
  const out: ts.Type[] = [];
  let input = false;
  const visit = (x: ts.Type) => {
    if (x.isUnion()) return x.types.forEach(visit);
    // pulumi.Output<T> is OutputInstance<T> & Lifted<T>; a branded number is number & { brand }.
    if (x.isIntersection()) {
      const inner = x.types.find((m) => wrapperName(m) || m.flags & (ts.TypeFlags.String | ts.TypeFlags.Number | ts.TypeFlags.Boolean));
      if (inner) return visit(inner);
    }
    const w = wrapperName(x);
    if (w) {
      input = true;
      const arg = ctx.checker.getTypeArguments(x as ts.TypeReference)[0] ?? (x.aliasTypeArguments ?? [])[0];
      if (arg) visit(arg);
      return;
    }
    if (x.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void | ts.TypeFlags.Null)) return;
    out.push(x);
  };
  visit(t);
  return { types: out, input };
}

/** The schema of one type; `where` names it for a new named type and for what is left out. */
function specOf(t: ts.Type, where: string, ctx: Ctx): Spec | undefined {
  const { checker } = ctx;
  const { types } = members(t, ctx);
  const kept = types.filter((x) => !isClassInstance(x) && !(x.getCallSignatures().length > 0));
  if (kept.length < types.length) ctx.omitted.push(`${where}: ${types.filter((x) => !kept.includes(x)).map((x) => checker.typeToString(x)).join(' | ')}`);
  if (kept.length === 0) return undefined;
  const specs: Spec[] = [];
  const literals: string[] = [];
  for (const x of kept) {
    if (x.isStringLiteral()) { literals.push(x.value); continue; }
    const s = single(x, where, ctx);
    if (s && !specs.some((o) => JSON.stringify(o) === JSON.stringify(s))) specs.push(s);
  }
  if (literals.length && !specs.some((s) => s['type'] === 'string')) specs.unshift({ type: 'string', enumValues: literals });
  if (specs.length === 1) return specs[0];
  // Pulumi's oneOf needs a `type` only for primitives; objects are $refs.
  return { oneOf: specs.map(({ enumValues: _e, ...s }) => s) };
}

function single(t: ts.Type, where: string, ctx: Ctx): Spec | undefined {
  const { checker } = ctx;
  const f = t.flags;
  if (f & (ts.TypeFlags.String | ts.TypeFlags.TemplateLiteral | ts.TypeFlags.StringLiteral)) return { type: 'string' };
  if (f & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return { type: 'number' };
  if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { $ref: 'pulumi.json#/Any' };
  if (checker.isArrayType(t) || checker.isTupleType(t)) {
    const el = checker.getTypeArguments(t as ts.TypeReference)[0];
    const items = el ? specOf(el, where, ctx) : undefined;
    return items ? { type: 'array', items } : undefined;
  }
  const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
  if (index && checker.getPropertiesOfType(t).length === 0) {
    const value = specOf(index.type, `${where}[*]`, ctx);
    return value ? { type: 'object', additionalProperties: value } : undefined;
  }
  if (f & ts.TypeFlags.Object || t.isIntersection()) return { $ref: `#/types/${PACKAGE}:index:${objectType(t, where, ctx)}` };
  ctx.omitted.push(`${where}: ${checker.typeToString(t)}`);
  return undefined;
}

/** Declares the object type `t` in `types` (once) and returns its name. */
function objectType(t: ts.Type, where: string, ctx: Ctx): string {
  const known = ctx.named.get(typeId(t));
  if (known) return known;
  const symName = (t.aliasSymbol ?? t.getSymbol())?.getName();
  // A variant of a discriminated union is named after its literal: StrategyRollingUpdate, StrategyRecreate.
  const tag = ctx.checker.getPropertiesOfType(t).map((p) => ctx.checker.getTypeOfSymbol(p)).find((pt) => pt.isStringLiteral()) as ts.StringLiteralType | undefined;
  // `HardenedContainerArgs` becomes `HardenedContainer`: SDKs add their own suffix (Python's
  // HardenedContainerArgs, Go's HardenedContainerArgs), which would otherwise double it.
  let name = symName && !symName.startsWith('__') && !['Omit', 'Pick', 'Readonly', 'Partial'].includes(symName)
    ? symName.replace(/(?<=.)(Props|Args)$/, '')
    : pascal(where.replace(/\[\*\]/g, '').split('.').map(pascal).join('')) + (tag ? pascal(tag.value) : '');
  while (ctx.types[name]) name = `${name}_`;
  ctx.named.set(typeId(t), name);
  ctx.types[name] = {};
  const { properties, required } = propertiesOf(t, name, ctx);
  ctx.types[name] = { type: 'object', properties, ...(required.length ? { required } : {}) };
  return name;
}

function propertiesOf(t: ts.Type, where: string, ctx: Ctx, only?: readonly string[]): { properties: Record<string, Spec>; required: string[]; plain: string[] } {
  const properties: Record<string, Spec> = {};
  const required: string[] = [];
  const plain: string[] = [];
  for (const p of ctx.checker.getPropertiesOfType(t)) {
    if (only && !only.includes(p.getName())) continue;
    if (!only && (p.getName().startsWith('_') || !p.valueDeclaration && !p.declarations?.length)) continue;
    const decl = p.valueDeclaration ?? p.declarations?.[0];
    const pt = ctx.checker.getTypeOfSymbolAtLocation(p, decl!);
    const spec = specOf(pt, `${where}.${p.getName()}`, ctx);
    if (!spec) continue;
    const doc = docOf(p, ctx.checker);
    const enumValues = spec['enumValues'] as string[] | undefined;
    delete spec['enumValues'];
    // A list of string literals: the items say which values, as the description of a single one does.
    const items = spec['items'] as Spec | undefined;
    const itemValues = items?.['enumValues'] as string[] | undefined;
    if (items) delete items['enumValues'];
    const values = (prefix: string, v?: string[]) => (v ? `${prefix}: ${v.map((x) => JSON.stringify(x)).join(', ')}.` : '');
    const description = [doc, values('One of', enumValues), values('Each one of', itemValues)].filter(Boolean).join(' ');
    properties[p.getName()] = { ...spec, ...(description ? { description } : {}) };
    if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.getName());
    if (!members(pt, ctx).input) plain.push(p.getName());
  }
  return { properties, required, plain };
}

/** The package schema, and what was left out because no other language can pass it. */
export function generateSchema(version: string): { schema: Spec; omitted: string[] } {
  const files = [...new Set(Object.values(PLUGIN_COMPONENT_OUTPUTS).map((c) => join(REPO, c.file)))];
  const program = ts.createProgram(files, { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const ctx: Ctx = { checker, types: {}, named: new Map(), omitted: [] };
  const resources: Record<string, Spec> = {};
  for (const [name, c] of Object.entries(PLUGIN_COMPONENT_OUTPUTS)) {
    const source = program.getSourceFile(join(REPO, c.file))!;
    const cls = source.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === name);
    if (!cls) throw new Error(`${c.file} has no class ${name}`);
    const ctor = cls.members.find(ts.isConstructorDeclaration)!;
    const argsParam = ctor.parameters[1]!;
    const argsType = checker.getTypeAtLocation(argsParam);
    const inputs = propertiesOf(argsType, name, ctx);
    const classType = checker.getTypeAtLocation(cls);
    const outputs = propertiesOf(classType, `${name}Outputs`, ctx, c.outputs);
    const classSym = checker.getSymbolAtLocation(cls.name!)!;
    const description = ts.displayPartsToString(classSym.getDocumentationComment(checker)).trim();
    resources[`${PACKAGE}:index:${name}`] = {
      isComponent: true,
      ...(description ? { description } : {}),
      inputProperties: Object.fromEntries(Object.entries(inputs.properties).map(([k, v]) => [k, inputs.plain.includes(k) ? { ...v, plain: true } : v])),
      ...(inputs.required.length ? { requiredInputs: inputs.required } : {}),
      properties: outputs.properties,
      required: outputs.required.filter((r) => !OPTIONAL_OUTPUTS.has(r)),
    };
  }
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { description: string; homepage?: string; license: string };
  const schema: Spec = {
    name: PACKAGE,
    displayName: 'cleanimg',
    version,
    description: pkg.description,
    license: pkg.license,
    keywords: ['kubernetes', 'security', 'category/infrastructure', 'kind/component'],
    dependencies: [{ name: 'kubernetes', version: '4.34.2' }],
    language: { nodejs: { respectSchemaVersion: true }, python: { respectSchemaVersion: true } },
    resources,
    types: Object.fromEntries(Object.entries(ctx.types).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [`${PACKAGE}:index:${k}`, v])),
  };
  return { schema, omitted: ctx.omitted };
}

/** The schema as the committed file holds it. */
export function schemaText(schema: Spec): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (require.main === module) {
  const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const { schema, omitted } = generateSchema(version);
  const text = schemaText(schema);
  if (process.argv.includes('--check')) {
    const current = readFileSync(SCHEMA_FILE, 'utf8');
    if (current !== text) {
      process.stderr.write('pulumi-plugin/schema.json is stale: run npx tsx scripts/pulumi-schema.ts\n');
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_FILE, text);
    process.stdout.write(`wrote ${SCHEMA_FILE}\nleft out (TypeScript only):\n${omitted.map((o) => `  ${o}`).join('\n')}\n`);
  }
}
