import type { Finding, Json, Rule } from './rule';
import { looksLikeSecretName, secretValueReason } from './secret-patterns';

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export const CONFIG_RULES: Rule[] = [
  {
    id: 'HD030',
    title: 'no Secret carries literal data in a manifest',
    fix: 'reference a Secret created outside Git (External Secrets, Sealed Secrets, an operator, a Pulumi secret) with EnvConfig secrets',
    check(o) {
      if (o.kind !== 'Secret') return [];
      const out: Finding[] = [];
      for (const field of ['data', 'stringData']) {
        const d = (o as Json)[field];
        if (d && typeof d === 'object' && Object.keys(d).length > 0)
          out.push({ path: `/${field}`, message: `Secret ${JSON.stringify(o.metadata?.name)} has literal ${field} (${Object.keys(d).join(', ')}) that would be committed with the manifest` });
      }
      return out;
    },
  },
  {
    id: 'HD031',
    title: 'ConfigMaps hold no secrets',
    fix: 'move the value into a Secret and reference it with EnvConfig secrets; rename the key if it is not secret',
    check(o) {
      if (o.kind !== 'ConfigMap') return [];
      const out: Finding[] = [];
      for (const field of ['data', 'binaryData'] as const) {
        const entries = (o as Json)[field];
        if (!entries || typeof entries !== 'object') continue;
        for (const [key, raw] of Object.entries(entries)) {
          // binaryData is base64: judge the bytes it decodes to (latin1 keeps every byte; the patterns are ASCII).
          const value = field === 'binaryData' && typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('latin1') : raw;
          const finding = entryFinding(`/${field}/${escapePointer(key)}`, key, value, field === 'binaryData' ? ' (base64-decoded)' : '');
          if (finding) out.push(finding);
        }
      }
      return out;
    },
  },
];

/** Why one ConfigMap entry looks secret: its key, its value, or the name a `KEY=value` line assigns. */
function entryFinding(path: string, key: string, value: unknown, decoded: string): Finding | undefined {
  if (looksLikeSecretName(key)) return { path, message: `key ${JSON.stringify(key)} looks like a secret` };
  if (typeof value !== 'string') return undefined;
  const reason = secretValueReason(value);
  if (reason) return { path, message: `the value of ${JSON.stringify(key)}${decoded} ${reason}` };
  // `KEY=value` files (app.env): check each assignment's name too.
  for (const line of value.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*[=:]\s*\S/.exec(line);
    if (m && looksLikeSecretName(m[1]!)) return { path, message: `the file ${JSON.stringify(key)}${decoded} assigns ${m[1]}, which looks like a secret` };
  }
  return undefined;
}
