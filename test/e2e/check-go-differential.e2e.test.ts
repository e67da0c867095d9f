// `cleanimg-customize check` reads hand-written YAML as Go does, or refuses it (HD033): a
// differential property test against yaml-echo (sigs.k8s.io/yaml, the reader behind kubectl and the
// API server's YAML input). Random documents are made from a hardened Deployment's YAML by textual
// mutations a person could write: merge keys (`<<: *anchor`, `<<: {...}`, `<<: [*a, *b]`) carrying
// Pod Security fields, anchors and aliases, YAML 1.1 scalars (`yes`, `on`, `y`, `off`), Go-only
// numbers (`0777`, `0o0`, `0_0`, `0x10000`, `1_0000`), flow maps and quoting. For every document,
// unless check refuses it with HD033, the rule verdicts on check's reading and on Go's reading must
// be the same: no document passes check while Go reads an insecure one. Counts are printed; the seed
// replays a run (FC_SEED), FC_RUNS sets the number of documents (default 1000).
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/cli/commands/check';
import { CleanimgError } from '../../src/errors';
import { checkObject, type KubeObject } from '../../src/rules';
import { readWithGo } from '../cdk8s/go-yaml-roundtrip';
import { hardenedObject } from '../security/attacks/common';
import { skipWithout, tool } from './support/tools';

const RUNS = Number(process.env.FC_RUNS ?? 1000);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-check-go-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pod-level and container-level fields an attacker would hide, with the values Go would give them. */
const POD_FIELDS = ['hostPID', 'hostNetwork', 'hostIPC', 'automountServiceAccountToken'];
const CONTAINER_FIELDS = ['privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'runAsNonRoot'];
const BOOLEAN_SPELLINGS = ['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'N', 'YES', 'On', 'OFF', 'True', 'FALSE', '"true"', "'yes'", '~', 'null'];
const UID_SPELLINGS = ['0', '00', '0o0', '0x0', '0_0', '+0', '-0', '0777', '0o177777', '0x10000', '1_0000', '65532', '0200000', '65_532', '6.5532e4', '"0"', '.inf', '10000.0'];

const boolean = fc.constantFrom(...BOOLEAN_SPELLINGS);
const uid = fc.constantFrom(...UID_SPELLINGS);
const podField = fc.tuple(fc.constantFrom(...POD_FIELDS), boolean).map(([k, v]) => `${k}: ${v}`);
const containerField = fc.oneof(
  fc.tuple(fc.constantFrom(...CONTAINER_FIELDS), boolean).map(([k, v]) => `${k}: ${v}`),
  uid.map((v) => `runAsUser: ${v}`),
  fc.constant('procMount: Unmasked'),
);

/** A mutation of the document's text: where it goes (pod spec or container securityContext) and what it adds. */
type Mutation = { where: 'pod' | 'container'; anchor?: string; line: string };

const mergeForms = (fields: string[]) => fc.oneof(
  // An anchor defined at the top, merged in.
  fc.constant({ anchor: `x-merged: &m {${fields.join(', ')}}`, line: '<<: *m' }),
  // An inline map.
  fc.constant({ line: `<<: {${fields.join(', ')}}` }),
  // A list of maps: for Go the first one wins.
  fc.constant({ anchor: `x-a: &a {${fields.join(', ')}}\nx-b: &b {${fields.map((f) => f.replace(/:.*/, ': false')).join(', ')}}`, line: '<<: [*a, *b]' }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ where: fc.constant('pod' as const), line: podField }),
  fc.record({ where: fc.constant('container' as const), line: containerField }),
  fc.array(podField, { minLength: 1, maxLength: 3 }).chain((fs) => mergeForms(fs).map((m) => ({ where: 'pod' as const, ...m }))),
  fc.array(containerField, { minLength: 1, maxLength: 3 }).chain((fs) => mergeForms(fs).map((m) => ({ where: 'container' as const, ...m }))),
);

/**
 * The hardened Deployment's YAML with the mutations written in: a key a mutation sets is first
 * removed from the object (so that no key appears twice, which the JS parser refuses and Go takes
 * last-wins), then each line is written after a known line of its map, in the spelling generated.
 */
function documentWith(mutations: readonly Mutation[]): string {
  const obj = hardenedObject('web');
  const pod = obj.spec.template.spec;
  const sc = pod.containers[0].securityContext;
  const seen = new Set<string>();
  const kept = mutations.filter((m) => {
    const key = `${m.where}:${m.line.replace(/:.*/, '')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  for (const m of kept) {
    const key = m.line.replace(/:.*/, '');
    if (key !== '<<' && key !== 'automountServiceAccountToken' && key !== 'allowPrivilegeEscalation') delete (m.where === 'pod' ? pod : sc)[key];
  }
  let text = stringify(obj, { lineWidth: 0 });
  const after: Record<Mutation['where'], RegExp> = { pod: /^( {6})automountServiceAccountToken: false$/m, container: /^( {12})allowPrivilegeEscalation: false$/m };
  for (const m of kept) {
    const key = m.line.replace(/:.*/, '');
    // The line a key replaces in place: the anchor line itself.
    if (key === 'automountServiceAccountToken' || key === 'allowPrivilegeEscalation') text = text.replace(after[m.where], `$1${m.line}`).replace(after[m.where === 'pod' ? 'pod' : 'container'], '$&');
    else text = text.replace(after[m.where], `$&\n$1${m.line}`);
  }
  const anchors = kept.map((m) => m.anchor).filter(Boolean);
  return `${anchors.join('\n')}${anchors.length ? '\n' : ''}${text}`;
}

interface Outcome { readonly refusedAsAmbiguous: boolean; readonly ours: string[]; readonly go: string[]; readonly goError?: string }

describe.skipIf(skipWithout(['yaml-echo']))('check reads hand-written YAML as Go does, or refuses it', () => {
  it(`gives Go's verdict on ${RUNS} random documents with merge keys, anchors and YAML 1.1 scalars, or HD033`, () => {
    process.stderr.write(`[e2e] check vs Go: ${RUNS} documents, seed ${SEED} (replay: FC_SEED=${SEED})\n`);
    const docs = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 4 }), { numRuns: RUNS, seed: SEED }).map(documentWith);
    const files = docs.map((text, i) => {
      const f = join(dir, `doc-${i}.yaml`);
      writeFileSync(f, text);
      return f;
    });
    const byGo = readWithGo(tool('yaml-echo'), files);
    const outcomes: Outcome[] = files.map((file) => {
      let ours: string[];
      try {
        ours = checkFiles([file]).violations.map((v) => v.code);
      } catch (e) {
        if (!(e instanceof CleanimgError)) throw e;
        ours = e.problems.map((p) => p.code);
      }
      const goDoc = byGo.get(file)![0]!;
      const go = goDoc.error !== undefined ? [] : checkObject(goDoc.object as KubeObject).map((v) => v.code);
      return { refusedAsAmbiguous: ours.includes('HD033'), ours: [...new Set(ours)].sort(), go: [...new Set(go)].sort(), goError: goDoc.error };
    });
    const judged = outcomes.filter((o) => !o.refusedAsAmbiguous);
    const disagreements = judged
      .map((o, i) => ({ o, text: docs[outcomes.indexOf(o)]!, i }))
      .filter(({ o }) => o.goError === undefined && (o.ours.length === 0) !== (o.go.length === 0 && o.goError === undefined))
      .map(({ o, text }) => `ours [${o.ours}] go [${o.go}]\n${text}`);
    const passedButGoInsecure = judged.filter((o) => o.ours.length === 0 && o.go.length > 0);
    const goInsecure = outcomes.filter((o) => o.go.length > 0).length;
    process.stderr.write(`[e2e] check vs Go: ${outcomes.length} documents; ${outcomes.length - judged.length} refused as read differently by Go (HD033); of the ${judged.length} others, check refuses ${judged.filter((o) => o.ours.length > 0).length}, Go's reading breaks a rule in ${judged.filter((o) => o.go.length > 0).length}; ${goInsecure} in all break a rule as Go reads them; disagreements: ${disagreements.length}; passed by check but insecure for Go: ${passedButGoInsecure.length}\n`);
    expect(passedButGoInsecure.length, `seed ${SEED}`).toBe(0);
    expect(disagreements.slice(0, 3), `seed ${SEED}`).toEqual([]);
    // The generator must make documents of every sort, or the test proves little.
    expect(outcomes.length - judged.length).toBeGreaterThan(RUNS / 10);
    expect(judged.filter((o) => o.ours.length > 0).length).toBeGreaterThan(RUNS / 20);
  }, 600_000);
});
