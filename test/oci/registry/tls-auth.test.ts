/**
 * TLS and basic auth against a real registry (docker-registry with a test CA certificate and htpasswd).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../../src/oci/registry';
import { pushBaseImage, type PushedImage } from '../../support/base-image';
import { generateCa, startRegistry, type TestRegistry } from '../../support/registry';
import { makeImage } from './fixtures';
import { failure } from '../../support/expect-error';
import { withRegistryClient } from '../../support/registry-client';

let reg: TestRegistry;
let base: PushedImage;
const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-tls-test-'));
const noEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: tmp };

beforeAll(async () => {
  reg = await startRegistry({ tls: true, htpasswd: true });
  base = await pushBaseImage(reg, 'base/secure', 'v1');
});

afterAll(async () => {
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function withClient<T>(opts: RegistryClientOptions, f: (c: RegistryClient) => Promise<T>): Promise<T> {
  return withRegistryClient(reg.host, { env: noEnv, retries: 0, ...opts }, f);
}

describe('TLS', () => {
  test('the CA file makes the registry certificate trusted; pull and push work with basic auth', async () => {
    await withClient({ caFile: reg.caFile!, username: reg.username!, password: reg.password! }, async (c) => {
      const m = await c.getManifest('base/secure', 'v1');
      expect(m.digest).toBe(base.digest);
      expect(await c.transport.base()).toBe(`https://${reg.host}`);
      const img = await makeImage({ '/etc/s': 's' });
      for (const b of [img.layer, img.config]) expect(await c.pushBlob('app/secure', b, () => Readable.from([b.bytes]), { from: 'base/secure' })).toBe('uploaded');
      expect(await c.putManifest('app/secure', 'v1', img.manifest.bytes, img.mediaType)).toBe(img.manifest.digest);
      expect((await c.headManifest('app/secure', 'v1'))?.digest).toBe(img.manifest.digest);
    });
  });

  test('without the CA file: REG005 naming --ca-file, and no fallback to plain HTTP', async () => {
    const e = await withClient({ username: reg.username!, password: reg.password! }, (c) => failure(c.getManifest('base/secure', 'v1')));
    expect(e.problems[0]!.code).toBe('REG005');
    expect(e.problems[0]!.fix).toMatch(/--ca-file/);
    expect(e.message).toMatch(/not trusted/);
  });

  test('a CA file of another CA: still REG005, saying the given CA did not sign it', async () => {
    const other = generateCa(tmp, 'other');
    const e = await withClient({ caFile: other.certFile, username: reg.username!, password: reg.password! }, (c) => failure(c.getManifest('base/secure', 'v1')));
    expect(e.problems[0]!.code).toBe('REG005');
    expect(e.problems[0]!.fix).toMatch(/--ca-file did not sign/);
  });

  test('an unreadable or non-PEM CA file is REG017', async () => {
    const bad = join(tmp, 'not-a-ca.pem');
    writeFileSync(bad, 'hello');
    expect(() => new RegistryClient(reg.host, { caFile: bad })).toThrow(/REG017/);
    expect(() => new RegistryClient(reg.host, { caFile: join(tmp, 'missing.pem') })).toThrow(/REG017.*ENOENT/s);
  });

  test('insecure skips verification', async () => {
    await withClient({ insecure: true, username: reg.username!, password: reg.password! }, async (c) => {
      expect((await c.getManifest('base/secure', base.digest)).digest).toBe(base.digest);
    });
  });
});

describe('basic auth', () => {
  test('wrong password: REG001 telling to docker login or pass --username', async () => {
    const e = await withClient({ caFile: reg.caFile!, username: reg.username!, password: 'wrong' }, (c) => failure(c.getManifest('base/secure', 'v1')));
    expect(e.problems[0]).toMatchObject({ code: 'REG001', path: '/v2/base/secure/manifests/v1' });
    expect(e.problems[0]!.fix).toMatch(/docker login/);
    expect(e.problems[0]!.fix).toMatch(/--username/);
    expect(e.message).toMatch(/refused the credentials from options/);
    expect(e.message).not.toContain('wrong'); // the secret is not echoed
  });

  test('no credentials at all: REG001', async () => {
    const e = await withClient({ caFile: reg.caFile! }, (c) => failure(c.hasBlob('base/secure', `sha256:${'0'.repeat(64)}`)));
    expect(e.problems[0]!.code).toBe('REG001');
    expect(e.message).toMatch(/no credentials were found/);
    expect(e.problems[0]!.fix).toContain(`docker login ${reg.host}`);
  });

  test('credentials from the environment', async () => {
    const env = { ...noEnv, CLEANIMG_REGISTRY_USERNAME: reg.username!, CLEANIMG_REGISTRY_PASSWORD: reg.password! };
    await withClient({ caFile: reg.caFile!, env }, async (c) => {
      expect((await c.getManifest('base/secure', 'v1')).digest).toBe(base.digest);
    });
  });

  test('credentials from $DOCKER_CONFIG/config.json', async () => {
    const dir = mkdtempSync(join(tmp, 'docker-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString('base64') } } }));
    await withClient({ caFile: reg.caFile!, env: { ...noEnv, DOCKER_CONFIG: dir } }, async (c) => {
      expect((await c.getManifest('base/secure', 'v1')).digest).toBe(base.digest);
    });
  });
});
