/**
 * Signing in both formats against a real registry (Debian's docker-registry, which has no referrers
 * API, so bundles go to the fallback tag), read back by our verifier; the referrers API path through a
 * small proxy of ours that plays a registry with the API (it answers `OCI-Subject` and serves
 * `/referrers/`), since neither registry in this tier has it. Real cosign reading what we write is
 * in test/e2e/signature-formats.e2e.test.ts.
 */
import * as crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryImageSource, type RegistryClient } from '../../../src/oci/registry';
import { SIGSTORE_BUNDLE_MEDIA_TYPE, referrersTag } from '../../../src/oci/signing/bundle';
import { parseSignatureFormat, signAndAttach, type SignatureFormat } from '../../../src/oci/signing/attach';
import { signatureTag } from '../../../src/oci/signing/cosign';
import { loadPrivateKey, type SigningKey } from '../../../src/oci/signing/keys';
import { verifyImage } from '../../../src/oci/signing/verify';
import { MediaType, type Descriptor } from '../../../src/oci/types';
import { pushBaseImage } from '../../support/base-image';
import { runCli } from '../../support/cli';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { withRegistryClient } from '../../support/registry-client';

let reg: TestRegistry;
let key: SigningKey;
let n = 0;

async function newKey(): Promise<SigningKey> {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined);
}

/** A fresh image in its own repository: its descriptor. */
async function image(host: string): Promise<{ repo: string; subject: Descriptor }> {
  const repo = `sign/app${++n}`;
  const pushed = await pushBaseImage(reg, repo, 'v1', { files: { '/etc/n': `${n}\n` } });
  const subject = await withRegistryClient(host, {}, (c) => c.headManifest(repo, pushed.digest));
  return { repo, subject: { mediaType: subject!.mediaType, digest: subject!.digest, size: subject!.size } };
}

const sign = (c: RegistryClient, repo: string, subject: Descriptor, format: SignatureFormat, k = key) =>
  signAndAttach(c, repo, subject, { key: k, repository: `${c.registry}/${repo}`, format, pushBlob: async (_what, b) => { await c.pushBlob(repo, b.descriptor, () => Readable.from([b.bytes])); } });

async function tags(c: RegistryClient, repo: string): Promise<string[]> {
  return (await c.listTags(repo)).sort();
}

beforeAll(async () => {
  reg = await startRegistry();
  key = await newKey();
});
afterAll(async () => {
  await reg?.stop();
});

describe('signAndAttach on a registry without the referrers API', () => {
  it('bundle: a referrer listed under the fallback tag with its artifactType; verified; not added twice', async () => {
    await withRegistryClient(reg.host, {}, async (c) => {
      const { repo, subject } = await image(reg.host);
      const first = await sign(c, repo, subject, 'bundle');
      expect(first).toMatchObject({ bundle: { appended: true, via: 'fallback-tag', tag: referrersTag(subject.digest) } });
      expect(first.legacy).toBeUndefined();
      expect(await tags(c, repo)).toEqual([referrersTag(subject.digest), 'v1'].sort());
      const index = JSON.parse((await c.getManifest(repo, referrersTag(subject.digest))).bytes.toString()) as { manifests: Descriptor[] };
      expect(index.manifests).toEqual([expect.objectContaining({ digest: first.bundle!.digest, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE, mediaType: MediaType.OciManifest })]);
      const referrer = JSON.parse((await c.getManifest(repo, first.bundle!.digest!)).bytes.toString()) as { subject: Descriptor; artifactType: string; config: Descriptor };
      expect(referrer.subject).toEqual(subject);
      expect(referrer.config.mediaType).toBe('application/vnd.oci.empty.v1+json');

      const v = await verifyImage(new RegistryImageSource(c, repo), subject.digest, key.publicKey);
      expect(v.valid.map((x) => x.format)).toEqual(['bundle']);
      expect((await sign(c, repo, subject, 'bundle')).bundle).toMatchObject({ appended: false });
      expect(JSON.parse((await c.getManifest(repo, referrersTag(subject.digest))).bytes.toString()).manifests).toHaveLength(1);

      // Another key adds its own referrer beside the first; each verifies under its own key only.
      const other = await newKey();
      expect((await sign(c, repo, subject, 'bundle', other)).bundle).toMatchObject({ appended: true });
      expect(JSON.parse((await c.getManifest(repo, referrersTag(subject.digest))).bytes.toString()).manifests).toHaveLength(2);
      for (const k of [key, other]) expect((await verifyImage(new RegistryImageSource(c, repo), subject.digest, k.publicKey)).valid).toHaveLength(1);
      expect((await verifyImage(new RegistryImageSource(c, repo), subject.digest, (await newKey()).publicKey)).verified).toBe(false);
    });
  });

  it('legacy writes only the .sig tag; both writes the two, each verified', async () => {
    await withRegistryClient(reg.host, {}, async (c) => {
      const a = await image(reg.host);
      expect(await sign(c, a.repo, a.subject, 'legacy')).toMatchObject({ legacy: { tag: signatureTag(a.subject.digest), appended: true } });
      expect(await tags(c, a.repo)).toEqual([signatureTag(a.subject.digest), 'v1'].sort());
      const b = await image(reg.host);
      const both = await sign(c, b.repo, b.subject, 'both');
      expect(both.legacy?.appended && both.bundle?.appended).toBe(true);
      expect(await tags(c, b.repo)).toEqual([referrersTag(b.subject.digest), signatureTag(b.subject.digest), 'v1'].sort());
      const v = await verifyImage(new RegistryImageSource(c, b.repo), b.subject.digest, key.publicKey);
      expect(v.valid.map((x) => x.format).sort()).toEqual(['bundle', 'sig-tag']);
    });
  });

  it('an unknown format is SIG014, before anything is signed', () => {
    expect(() => parseSignatureFormat('dsse')).toThrow(/not a signature format/);
    try {
      parseSignatureFormat('dsse');
    } catch (e) {
      expect((e as { problems: { code: string }[] }).problems[0]!.code).toBe('SIG014');
    }
    expect(parseSignatureFormat(undefined)).toBe('legacy');
  });
});

describe('signAndAttach on a registry with the referrers API (emulated by a proxy)', () => {
  let proxy: Server;
  let host: string;
  /** subject digest -> referrer descriptors the "registry" indexed. */
  const indexed = new Map<string, Descriptor[]>();

  beforeAll(async () => {
    const [upHost, upPort] = reg.host.split(':');
    proxy = createServer((req, res) => {
      const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec((req.url ?? '').split('?')[0]!);
      if (req.method === 'GET' && m) {
        res.writeHead(200, { 'content-type': MediaType.OciIndex });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: indexed.get(m[2]!) ?? [] }));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const up = httpRequest({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          const headers = { ...upRes.headers };
          if (req.method === 'PUT' && req.url!.includes('/manifests/') && (upRes.statusCode ?? 0) < 300) {
            const doc = JSON.parse(body.toString()) as { subject?: Descriptor; artifactType?: string; mediaType: string };
            if (doc.subject) {
              const digest = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
              indexed.set(doc.subject.digest, [...(indexed.get(doc.subject.digest) ?? []), { mediaType: doc.mediaType, digest, size: body.length, artifactType: doc.artifactType! }]);
              headers['oci-subject'] = doc.subject.digest;
            }
          }
          res.writeHead(upRes.statusCode ?? 502, headers);
          upRes.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
  });

  it('the registry indexes the referrer (OCI-Subject): no fallback tag is written; verify reads the API; not added twice', async () => {
    await withRegistryClient(host, {}, async (c) => {
      const { repo, subject } = await image(host);
      const first = await sign(c, repo, subject, 'bundle');
      expect(first.bundle).toMatchObject({ appended: true, via: 'referrers-api' });
      expect(await tags(c, repo)).toEqual(['v1']);
      expect(indexed.get(subject.digest)).toHaveLength(1);
      const v = await verifyImage(new RegistryImageSource(c, repo), subject.digest, key.publicKey);
      expect(v.valid.map((x) => x.format)).toEqual(['bundle']);
      expect((await sign(c, repo, subject, 'bundle')).bundle).toMatchObject({ appended: false, via: 'referrers-api' });
      expect(indexed.get(subject.digest)).toHaveLength(1);
    });
  });
});

describe('cleanimg-customize sign: bad input changes nothing', () => {
  it('no digest (CLI026), an image the registry lacks (SIG015), a public key as --key: refused, no tag written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-sign-'));
    try {
      writeFileSync(join(dir, 'key.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      writeFileSync(join(dir, 'pub.pem'), key.publicKeyPem);
      await withRegistryClient(reg.host, {}, async (c) => {
        const { repo, subject } = await image(reg.host);
        const codes = async (args: string[]) => {
          const r = await runCli(['sign', ...args, '--json']);
          expect(r.code, r.out).toBe(2);
          return (JSON.parse(r.out) as { problems: { code: string }[] }).problems.map((p) => p.code);
        };
        expect(await codes([`${reg.host}/${repo}:v1`, '--key', join(dir, 'key.pem')])).toEqual(['CLI026']);
        expect(await codes([`${reg.host}/${repo}@sha256:${'0'.repeat(64)}`, '--key', join(dir, 'key.pem')])).toEqual(['SIG015']);
        expect((await codes([`${reg.host}/${repo}@${subject.digest}`, '--key', join(dir, 'pub.pem')])).length).toBe(1);
        expect(await codes([`${reg.host}/${repo}@${subject.digest}`, '--key', join(dir, 'key.pem'), '--signature-format', 'x'])).toEqual(['SIG014']);
        expect(await tags(c, repo)).toEqual(['v1']);
        const ok = await runCli(['sign', `${reg.host}/${repo}@${subject.digest}`, '--key', join(dir, 'key.pem'), '--json']);
        expect(ok.code, ok.out).toBe(0);
        expect(await tags(c, repo)).toEqual([signatureTag(subject.digest), 'v1'].sort()); // the default: legacy
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
