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
      const data = (o as Json).data;
      if (!data || typeof data !== 'object') return [];
      const out: Finding[] = [];
      for (const [key, value] of Object.entries(data)) {
        const path = `/data/${escapePointer(key)}`;
        if (looksLikeSecretName(key)) out.push({ path, message: `key ${JSON.stringify(key)} looks like a secret` });
        else if (typeof value === 'string') {
          const reason = secretValueReason(value);
          if (reason) out.push({ path, message: `the value of ${JSON.stringify(key)} ${reason}` });
          else {
            // `KEY=value` files (app.env): check each assignment's name too.
            for (const line of value.split('\n')) {
              const m = /^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*[=:]\s*\S/.exec(line);
              if (m && looksLikeSecretName(m[1]!)) {
                out.push({ path, message: `the file ${JSON.stringify(key)} assigns ${m[1]}, which looks like a secret` });
                break;
              }
            }
          }
        }
      }
      return out;
    },
  },
];
