/**
 * Sources swapped or changed between the input checks and the layer: the layer holds the bytes that
 * were checked, or the build stops (LAYER004 / INPUT012) and leaves no layer behind. Each attack works
 * on the real filesystem, at the moment a build would be most exposed to it.
 */
import { appendFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { failureProblems } from '../support/expect-error';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/customize/cache';
import { detectPrivateKey, resolveInputs } from '../../src/customize/inputs';
import { parseSpec } from '../../src/customize/spec';
import { buildLayer } from '../../src/oci/layer';
import { cleanupTmp, FAKE_DIGEST, makePrivateKeys, specYaml, tmp, write } from './fixtures';

afterAll(cleanupTmp);

const spec = (files: Parameters<typeof specYaml>[1]) => parseSpec(specYaml(`base/image@${FAKE_DIGEST}`, files));
const SECRET = 'root:$6$secret-from-outside-the-spec-folder\n';

const problemsOf = failureProblems;

/** A spec folder with one config file, and a file outside it that an attacker wants in the layer. */
function setup(): { dir: string; file: string; outside: string; layerDir: string } {
  const dir = tmp('cleanimg-race-');
  const file = write(path.join(dir, 'conf', 'app.conf'), 'listen 8080\n');
  const outside = write(path.join(tmp('cleanimg-race-outside-'), 'shadow'), SECRET);
  const layerDir = tmp('cleanimg-race-layer-');
  return { dir, file, outside, layerDir };
}

const layerText = (p: string) => gunzipSync(readFileSync(p)).toString('latin1');

describe('a source swapped after the checks, before the layer', () => {
  const swaps: [string, (s: ReturnType<typeof setup>) => void][] = [
    ['replaced by a symlink to a file outside the folder', (s) => { rmSync(s.file); symlinkSync(s.outside, s.file); }],
    ['replaced by another file renamed over it', (s) => { const t = write(path.join(s.dir, 'other'), SECRET); renameSync(t, s.file); }],
    ['its folder replaced by a symlink to a folder outside', (s) => {
      const outDir = path.dirname(s.outside);
      writeFileSync(path.join(outDir, 'app.conf'), SECRET);
      renameSync(path.join(s.dir, 'conf'), path.join(s.dir, 'conf.orig'));
      symlinkSync(outDir, path.join(s.dir, 'conf'));
    }],
    ['written in place (same inode, same size)', (s) => { writeFileSync(s.file, 'listen 6666\n'); }],
    ['grown in place', (s) => { appendFileSync(s.file, SECRET); }],
  ];
  for (const [what, swap] of swaps) {
    it(`${what}: LAYER004, no layer left`, async () => {
      const s = setup();
      const r = await resolveInputs(spec([{ source: 'conf/app.conf', destination: '/etc/app/app.conf' }]), s.dir);
      expect(r.entries.find((e) => e.path === '/etc/app/app.conf')?.sourceStat).toBeDefined();
      swap(s);
      const ps = await problemsOf(buildLayer(r.entries, { tmpDir: s.layerDir }));
      expect(ps.map((p) => p.code)).toEqual(['LAYER004']);
      expect(ps[0]!.message).toMatch(/replaced|modified/);
      expect(readdirSync(s.layerDir)).toEqual([]);
    });
  }

  it('the cache key refuses a swapped source too (it must name the bytes that were checked)', async () => {
    const s = setup();
    const r = await resolveInputs(spec([{ source: 'conf/app.conf', destination: '/etc/app/app.conf' }]), s.dir);
    rmSync(s.file);
    symlinkSync(s.outside, s.file);
    const cache = new LayerCache(tmp('cleanimg-race-cache-'));
    expect((await problemsOf(cache.identify(r.entries, 0))).map((p) => p.code)).toEqual(['LAYER004']);
  });

  it('bytes changed while the stat stayed (a store into a dirty shared mapping): LAYER004, no layer left; the cache key refuses it too', async () => {
    const s = setup();
    const r = await resolveInputs(spec([{ source: 'conf/app.conf', destination: '/etc/app/app.conf' }]), s.dir);
    const entry = r.entries.find((e) => e.path === '/etc/app/app.conf')!;
    expect(entry.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    // The stat the checks pinned is the file's stat now; only the checked hash names other bytes.
    const forged = r.entries.map((e) => (e === entry ? { ...e, sourceSha256: '0'.repeat(64) } : e));
    const ps = await problemsOf(buildLayer(forged, { tmpDir: s.layerDir }));
    expect(ps.map((p) => p.code)).toEqual(['LAYER004']);
    expect(ps[0]!.message).toMatch(/bytes differ/);
    expect(readdirSync(s.layerDir)).toEqual([]);
    const cache = new LayerCache(tmp('cleanimg-race-cache-'));
    expect((await problemsOf(cache.identify(forged, 0))).map((p) => p.code)).toEqual(['LAYER004']);
  });

  it('unchanged: the layer holds the checked bytes', async () => {
    const s = setup();
    const r = await resolveInputs(spec([{ source: 'conf/app.conf', destination: '/etc/app/app.conf' }]), s.dir);
    const built = await buildLayer(r.entries, { tmpDir: s.layerDir });
    expect(layerText(built.path)).toContain('listen 8080');
    expect(layerText(built.path)).not.toContain('secret-from-outside');
  });
});

describe('a source swapped while the checks read it', () => {
  it('a name swapped for a link to a private key mid-scan: the scan reads the opened file, and the unlink shows (INPUT012)', async () => {
    const s = setup();
    const keyFile = write(path.join(path.dirname(s.outside), 'key.pem'), makePrivateKeys(tmp('cleanimg-race-keys-'))['pkcs8.pem']!);
    let scanned = '';
    const ps = await problemsOf(resolveInputs(spec([{ source: 'conf/app.conf', destination: '/etc/app/app.conf' }]), s.dir, {
      inspectSource: async (file, fh) => {
        rmSync(file);
        symlinkSync(keyFile, file);
        scanned = (await fh.readFile()).toString();
        return { sha256: '', privateKey: await detectPrivateKey(file, fh), shell: null };
      },
    }));
    expect(scanned).toBe('listen 8080\n');
    expect(ps.map((p) => p.code)).toEqual(['INPUT012']);
  });

  it('a file written while it is scanned: INPUT012', async () => {
    const s = setup();
    const ps = await problemsOf(resolveInputs(spec([{ source: 'conf/app.conf', destination: '/etc/app/app.conf' }]), s.dir, {
      inspectSource: async (file, fh) => {
        const found = await detectPrivateKey(file, fh);
        appendFileSync(file, '-----BEGIN PRIVATE KEY-----\n');
        return { sha256: '', privateKey: found, shell: null };
      },
    }));
    expect(ps.map((p) => p.code)).toEqual(['INPUT012']);
    expect(ps[0]!.message).toMatch(/was modified while the build checked it/);
  });

  it('a name swapped for a symlink between the walk and the read: INPUT012, nothing read outside', async () => {
    const s = setup();
    let swapped = false;
    const ps = await problemsOf(resolveInputs(spec([
      { source: 'conf/app.conf', destination: '/etc/app/app.conf' },
      { source: 'conf/b.conf', destination: '/etc/app/b.conf' },
    ]), (write(path.join(s.dir, 'conf', 'b.conf'), 'b\n'), s.dir), {
      inspectSource: async (file, fh) => {
        if (!swapped) {
          swapped = true;
          const b = path.join(s.dir, 'conf', 'b.conf');
          rmSync(b);
          symlinkSync(s.outside, b);
        }
        return { sha256: '', privateKey: await detectPrivateKey(file, fh), shell: null };
      },
    }));
    expect(ps.map((p) => p.code)).toEqual(['INPUT012']);
    expect(ps[0]!.message).toMatch(/replaced by a symlink/);
  });
});
