// The plugin package's schema: generated from the components' TypeScript types (scripts/pulumi-schema.ts),
// committed as pulumi-plugin/schema.json, and complete: every component, every prop the core takes,
// the doc comments, every reference resolvable, and only the TypeScript-only fields left out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSchema, schemaText, SCHEMA_FILE } from '../../../scripts/pulumi-schema';
import { podShape } from '../../../src/core/props-schema';
import { PLUGIN_COMPONENT_OUTPUTS } from '../../../src/pulumi/plugin/components';

interface Schema {
  name: string;
  resources: Record<string, { description?: string; inputProperties: Record<string, Record<string, unknown>>; requiredInputs?: string[]; properties: Record<string, unknown> }>;
  types: Record<string, { properties?: Record<string, unknown> }>;
}

const version = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const generated = generateSchema(version);
const schema = generated.schema as unknown as Schema;

function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === '$ref' && typeof x === 'string' ? out.push(x) : refs(x, out);
  return out;
}

describe('the plugin package schema', { timeout: 120_000 }, () => {
  it('is the committed pulumi-plugin/schema.json (regenerate: npx tsx scripts/pulumi-schema.ts)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText(generated.schema));
  });

  it('has every component of the package, as a component resource with a description', () => {
    expect(Object.keys(schema.resources).sort()).toEqual(Object.keys(PLUGIN_COMPONENT_OUTPUTS).map((c) => `cleanimg:index:${c}`).sort());
    for (const [token, r] of Object.entries(schema.resources)) {
      expect(r.description, token).toBeTruthy();
      expect(Object.keys(r.properties).sort(), token).toEqual([...PLUGIN_COMPONENT_OUTPUTS[token.split(':')[2] as keyof typeof PLUGIN_COMPONENT_OUTPUTS].outputs].sort());
    }
  });

  it('takes every prop the core takes for a workload, plus the exposure args', () => {
    for (const kind of ['HardenedDeployment', 'HardenedStatefulSet', 'HardenedJob', 'HardenedCronJob']) {
      const inputs = Object.keys(schema.resources[`cleanimg:index:${kind}`]!.inputProperties);
      expect(inputs, kind).toEqual(expect.arrayContaining([...Object.keys(podShape), 'service', 'ingress', 'httpRoute']));
    }
    expect(schema.resources['cleanimg:index:HardenedDeployment']!.requiredInputs).toEqual(['containers']);
  });

  it('carries the doc comments and defaults', () => {
    const d = schema.resources['cleanimg:index:HardenedDeployment']!.inputProperties;
    expect(d['replicas']!['description']).toMatch(/Default: 2/);
    expect(d['runAsUser']!['description']).toMatch(/UID of every container\. Default: 65532/);
    const described = Object.values(d).filter((p) => p['description']).length;
    expect(described / Object.keys(d).length).toBeGreaterThan(0.8);
  });

  it('maps unions: a port by number or name, `false` or a budget, string literals listed', () => {
    const types = schema.types;
    expect(types['cleanimg:index:ProbeTcp']!.properties!['port']).toMatchObject({ oneOf: expect.arrayContaining([{ type: 'number' }, { type: 'string' }]) });
    expect(schema.resources['cleanimg:index:HardenedDeployment']!.inputProperties['disruptionBudget']).toMatchObject({ oneOf: [{ type: 'boolean' }, { $ref: '#/types/cleanimg:index:DisruptionBudget' }] });
    expect(types['cleanimg:index:ContainerPort']!.properties!['protocol']).toMatchObject({ type: 'string', description: expect.stringMatching(/One of: "TCP", "UDP", "SCTP"/) });
  });

  it('resolves every reference to a declared type', () => {
    const local = refs(schema).filter((r) => r.startsWith('#/types/'));
    expect(local.length).toBeGreaterThan(20);
    for (const r of local) expect(schema.types, r).toHaveProperty([r.slice('#/types/'.length)]);
    expect(refs(schema).filter((r) => !r.startsWith('#/types/'))).toEqual(expect.arrayContaining(['pulumi.json#/Any']));
  });

  it('leaves out only what no other language can pass: an EnvConfig object as itself, and the namespace callback', () => {
    expect(generated.omitted).toEqual(['HardenedContainer.config: PulumiAttachmentSource', 'HardenedNamespace.deployments: DeclareDeployments']);
    expect(schema.types['cleanimg:index:HardenedContainer']!.properties!['config']).toMatchObject({ type: 'array', items: { $ref: '#/types/cleanimg:index:EnvConfigAttachment' } });
  });
});
