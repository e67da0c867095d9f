import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../src/errors';
import { contentHash, envConfig } from '../../src/core';

describe('envConfig', () => {
  it('makes an immutable ConfigMap named by a hash of its content', () => {
    const a = envConfig({ name: 'gw', data: { 'nginx.conf': 'x', b: 'y' } });
    const b = envConfig({ name: 'gw', data: { b: 'y', 'nginx.conf': 'x' } });
    const c = envConfig({ name: 'gw', data: { 'nginx.conf': 'changed', b: 'y' } });
    expect(a.configMapName).toMatch(/^gw-[0-9a-f]{10}$/);
    expect(a.configMapName).toBe(b.configMapName);
    expect(c.configMapName).not.toBe(a.configMapName);
    expect(a.configMap).toMatchObject({ kind: 'ConfigMap', immutable: true, data: { b: 'y', 'nginx.conf': 'x' } });
    expect(contentHash({ a: '1' })).not.toBe(contentHash({ a: '2' }));
  });

  it('mounts files read-only in a directory (default /etc/<name>) or at exact paths', () => {
    expect(envConfig({ name: 'gw', data: { a: 'x' } }).volumeMounts).toEqual([{ name: 'gw-config', mountPath: '/etc/gw', readOnly: true }]);
    const f = envConfig({ name: 'gw', data: { 'nginx.conf': 'x' }, fileMounts: { 'nginx.conf': '/etc/nginx/nginx.conf' } });
    expect(f.volumeMounts).toEqual([{ name: 'gw-config', mountPath: '/etc/nginx/nginx.conf', subPath: 'nginx.conf', readOnly: true }]);
  });

  it('references existing Secrets as read-only files and never holds secret data', () => {
    const r = envConfig({ name: 'app', secrets: [{ secretName: 'app-secrets', mountPath: '/var/run/secrets/app', keys: ['database_url'] }] });
    expect(r.configMap).toBeUndefined();
    expect(r.volumes).toEqual([{ name: 'app-secret-0', secret: { secretName: 'app-secrets', defaultMode: 0o440, items: [{ key: 'database_url', path: 'database_url' }] } }]);
    expect(r.volumeMounts).toEqual([{ name: 'app-secret-0', mountPath: '/var/run/secrets/app', readOnly: true }]);
    expect(r.env).toEqual([]);
  });

  it('refuses secret-looking data with the rule id and the key', () => {
    try {
      envConfig({ name: 'app', data: { 'app.env': 'DATABASE_URL=postgresql://user:password@postgres:5432/mydb' } });
      throw new Error('not refused');
    } catch (e) {
      expect(e).toBeInstanceOf(CleanimgError);
      expect((e as CleanimgError).problems.map((p) => [p.code, p.path])).toEqual([['HD031', 'data.app.env']]);
    }
  });

  it('refuses literal secrets and dangling keys', () => {
    expect(() => envConfig({ name: 'app', secrets: [{ secretName: 's', mountPath: '/x', stringData: { a: 'b' } } as any] })).toThrow(/PROP001.*stringData/);
    expect(() => envConfig({ name: 'app', data: { a: 'x' }, envKeys: { A: 'missing' } })).toThrow(/PROP003 envKeys.A/);
    expect(() => envConfig({ name: 'app', fileMounts: { a: '/a' } })).toThrow(/PROP003/);
  });
});
