/**
 * The parsed-spec cache: the same LoadedSpec as loadSpec, keyed by the file's bytes (and the
 * validator's code), never caching a refusal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CleanimgError } from '../../src/errors';
import { loadSpec } from '../../src/customize/spec';
import { loadSpecCached, specValidatorTag } from '../../src/customize/spec-cache';
import { cleanupTmp, FAKE_DIGEST, specYaml, tmp, writeSpec } from './fixtures';

afterAll(cleanupTmp);

describe('loadSpecCached', () => {
  it('gives what loadSpec gives, from the cache the second time, and a new entry when a byte changes', async () => {
    const dir = tmp();
    const cacheDir = path.join(dir, 'specs');
    const specPath = writeSpec(dir, specYaml(`cleanstart/app:1@${FAKE_DIGEST}`, [{ source: 'a.conf', destination: '/etc/a.conf', mode: '0600', owner: '0:65532' }], 'labels:\n  team: db\n'));
    const plain = await loadSpec(specPath);
    const first = await loadSpecCached(specPath, cacheDir);
    const second = await loadSpecCached(specPath, cacheDir);
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    for (const r of [first, second]) {
      expect(r.spec).toEqual(plain.spec);
      expect(r.specDigest).toBe(plain.specDigest);
      expect(r.specPath).toBe(plain.specPath);
      expect(r.specDir).toBe(plain.specDir);
    }
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    // mode 0600 survives the JSON round trip as the number the validator made of it.
    expect(second.spec.copy_files[0]!.mode).toBe(0o600);

    writeFileSync(specPath, readFileSync(specPath, 'utf8').replace('team: db', 'team: web'));
    const changed = await loadSpecCached(specPath, cacheDir);
    expect(changed.fromCache).toBe(false);
    expect(changed.spec.labels).toEqual({ team: 'web' });
    expect(changed.specDigest).not.toBe(plain.specDigest);
    expect(specValidatorTag()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never caches a refusal, and reports a missing file as loadSpec does', async () => {
    const dir = tmp();
    const cacheDir = path.join(dir, 'specs');
    const bad = writeSpec(dir, specYaml('cleanstart/app:1', [{ source: 'a', destination: '/a' }]), 'bad.yaml');
    for (let i = 0; i < 2; i++) {
      const e = await loadSpecCached(bad, cacheDir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CleanimgError);
      expect((e as CleanimgError).problems[0]!.code).toBe('SPEC004');
    }
    expect(() => readdirSync(cacheDir)).toThrow(); // nothing was written
    const missing = await loadSpecCached(path.join(dir, 'nope.yaml'), cacheDir).catch((x: unknown) => x);
    expect((missing as CleanimgError).problems[0]!.code).toBe('SPEC001');
  });

  it('treats a corrupt entry as a miss and rewrites it', async () => {
    const dir = tmp();
    const cacheDir = path.join(dir, 'specs');
    const specPath = writeSpec(dir, specYaml(`cleanstart/app:1@${FAKE_DIGEST}`, [{ source: 'a.conf', destination: '/etc/a.conf' }]));
    await loadSpecCached(specPath, cacheDir);
    const [entry] = readdirSync(cacheDir);
    writeFileSync(path.join(cacheDir, entry!), '{"spec": 1');
    const again = await loadSpecCached(specPath, cacheDir);
    expect(again.fromCache).toBe(false);
    expect((await loadSpecCached(specPath, cacheDir)).fromCache).toBe(true);
  });
});
