/**
 * The registry client against a real registry (Debian's docker-registry, plain HTTP on 127.0.0.1),
 * with results checked by skopeo and umoci where it matters.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import { sha256Digest } from '../../../src/oci/digest';
import { RegistryClient, RegistryImageSource } from '../../../src/oci/registry';
import { MediaType, type ImageIndex } from '../../../src/oci/types';
import { pushBaseImage, pushMultiArchBase, buildBaseImage, type PushedImage, type PushedMultiArch } from '../../support/base-image';
import { freePort, startRegistry, type TestRegistry } from '../../support/registry';
import { blobOf, makeImage } from './fixtures';
import { failure } from '../../support/expect-error';

const run = promisify(execFile);

function codeOf(e: unknown): string {
  expect(e).toBeInstanceOf(CleanimgError);
  return (e as CleanimgError).problems[0]!.code;
}

let reg: TestRegistry;
let client: RegistryClient;
let base: PushedImage;
let multi: PushedMultiArch;
let dockerV2: PushedImage;
const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-client-test-'));

beforeAll(async () => {
  reg = await startRegistry();
  client = new RegistryClient(reg.host);
  base = await pushBaseImage(reg, 'base/plain', 'v1');
  multi = await pushMultiArchBase(reg, 'base/multi', 'v1');
  // The same kind of image as a Docker v2 schema 2 manifest.
  const layout = join(tmp, 'docker-layout');
  await buildBaseImage(layout, 'd', {});
  const digestFile = join(tmp, 'd.digest');
  await run('skopeo', ['copy', '--quiet', '--format', 'v2s2', '--dest-tls-verify=false', '--digestfile', digestFile, `oci:${layout}:d`, `docker://${reg.host}/base/docker:v1`]);
  dockerV2 = { ref: '', repository: 'base/docker', tag: 'v1', digest: readFileSync(digestFile, 'utf8').trim() };
});

afterAll(async () => {
  await client?.close();
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('manifests', () => {
  test('full Accept list: OCI manifest, OCI index and Docker v2 manifest come back as stored, with the digests skopeo pushed', async () => {
    const m = await client.getManifest('base/plain', 'v1');
    expect(m.mediaType).toBe(MediaType.OciManifest);
    expect(m.digest).toBe(base.digest);
    expect(sha256Digest(m.bytes)).toBe(base.digest);

    const i = await client.getManifest('base/multi', 'v1');
    expect(i.mediaType).toBe(MediaType.OciIndex);
    expect(i.digest).toBe(multi.digest);
    const index = JSON.parse(i.bytes.toString()) as ImageIndex;
    expect(index.manifests.map((d) => [d.platform?.architecture, d.digest])).toEqual([
      ['amd64', multi.platforms.amd64],
      ['arm64', multi.platforms.arm64],
    ]);

    const d = await client.getManifest('base/docker', 'v1');
    expect(d.mediaType).toBe(MediaType.DockerManifest);
    expect(d.digest).toBe(dockerV2.digest);
  });

  test('each Accept type alone: the registry serves only what is accepted (why the full list is sent)', async () => {
    const oci = await client.getManifest('base/plain', 'v1', { accept: [MediaType.OciManifest] });
    expect(oci.digest).toBe(base.digest);
    const idx = await client.getManifest('base/multi', 'v1', { accept: [MediaType.OciIndex] });
    expect(idx.digest).toBe(multi.digest);
    const dock = await client.getManifest('base/docker', 'v1', { accept: [MediaType.DockerManifest] });
    expect(dock.digest).toBe(dockerV2.digest);
    // A Docker v2 manifest asked for with an OCI-only Accept is converted to schema 1, which we refuse clearly.
    const converted = await failure(client.getManifest('base/docker', 'v1', { accept: [MediaType.OciManifest] }));
    expect(converted.problems[0]!.code).toBe('REG019');
    expect(converted.message).toMatch(/schema 1/);
    // An OCI manifest without the OCI type in Accept is not found.
    expect(codeOf(await failure(client.getManifest('base/plain', 'v1', { accept: [MediaType.DockerManifest] })))).toBe('REG003');
  });

  test('by digest: verified; HEAD agrees with GET; unknown tag and digest are REG003', async () => {
    const m = await client.getManifest('base/plain', base.digest);
    expect(m.digest).toBe(base.digest);
    const h = await client.headManifest('base/plain', 'v1');
    expect(h).toEqual({ mediaType: MediaType.OciManifest, digest: base.digest, size: m.bytes.length });
    expect(await client.headManifest('base/plain', 'nope')).toBeUndefined();
    const e = await failure(client.getManifest('base/plain', 'nope'));
    expect(e.problems[0]).toMatchObject({ code: 'REG003', path: '/v2/base/plain/manifests/nope' });
    expect(e.message).toMatch(/skopeo inspect/);
    expect(codeOf(await failure(client.getManifest('base/plain', `sha256:${'1'.repeat(64)}`)))).toBe('REG003');
    expect(codeOf(await failure(client.getManifest('base/plain', 'sha256:123')))).toBe('REF004');
    expect(codeOf(await failure(client.getManifest('Base/plain', 'v1')))).toBe('REF003');
  });

  test('RegistryImageSource reads the manifest and the config blob (verified)', async () => {
    const src = RegistryImageSource.fromReference(base.ref);
    try {
      expect(src.name).toBe(`${reg.host}/base/plain`);
      const m = await src.getManifest(base.digest);
      const manifest = JSON.parse(m.bytes.toString()) as { config: { digest: string } };
      const cfg = JSON.parse((await src.getBlob(manifest.config.digest)).toString()) as { config: { User: string }; architecture: string };
      expect(cfg.config.User).toBe('65532:65532');
      expect(cfg.architecture).toBe('amd64');
    } finally {
      await src.close();
    }
  });

  test('listTags and deleteManifest', async () => {
    const img = await makeImage({ '/etc/x': 'x' });
    for (const b of [img.layer, img.config]) await client.pushBlob('app/tags', b, () => Readable.from([b.bytes]));
    await client.putManifest('app/tags', 'a', img.manifest.bytes, img.mediaType);
    await client.putManifest('app/tags', 'b', img.manifest.bytes, img.mediaType);
    expect((await client.listTags('app/tags')).sort()).toEqual(['a', 'b']);
    await client.deleteManifest('app/tags', img.manifest.digest);
    expect(await client.headManifest('app/tags', img.manifest.digest)).toBeUndefined();
    expect(codeOf(await failure(client.listTags('app/never')))).toBe('REG003');
  });
});

describe('blobs', () => {
  test('monolithic upload of a small blob, then HEAD skips it; content reads back verified', async () => {
    const b = blobOf(randomBytes(100_000));
    const before = client.transport.attempts;
    expect(await client.hasBlob('app/mono', b.digest)).toBe(false);
    const progress: number[] = [];
    expect(await client.pushBlob('app/mono', b, () => Readable.from([b.bytes.subarray(0, 1000), b.bytes.subarray(1000)]), (sent) => progress.push(sent))).toBe('uploaded');
    expect(progress.at(-1)).toBe(b.size);
    // HEAD + 404, POST, PUT: no PATCH for a small blob.
    expect(client.transport.attempts - before).toBe(4);
    expect(await client.hasBlob('app/mono', b.digest)).toBe(true);
    expect((await client.getBlob('app/mono', b.digest)).equals(b.bytes)).toBe(true);
    let opened = 0;
    expect(
      await client.pushBlob('app/mono', b, () => {
        opened++;
        return Readable.from([b.bytes]);
      }),
    ).toBe('exists');
    expect(opened).toBe(0);
  });

  test('chunked streaming upload of a 20 MiB blob in 4 MiB PATCHes', async () => {
    const chunked = new RegistryClient(reg.host, { monolithicMaxBytes: 1 << 20, chunkSizeBytes: 4 << 20 });
    try {
      const b = blobOf(randomBytes(20 << 20));
      expect(await chunked.hasBlob('app/big', b.digest)).toBe(false); // pings the registry first
      const before = chunked.transport.attempts;
      const progress: number[] = [];
      // The source yields odd-sized pieces so chunk boundaries fall inside them.
      const open = (): Readable =>
        Readable.from(
          (function* () {
            for (let i = 0; i < b.size; i += 777_777) yield b.bytes.subarray(i, i + 777_777);
          })(),
        );
      expect(await chunked.pushBlob('app/big', b, open, { onProgress: (s) => progress.push(s) })).toBe('uploaded');
      // HEAD, POST, 5 PATCH, PUT
      expect(chunked.transport.attempts - before).toBe(1 + 1 + 5 + 1);
      expect(progress.at(-1)).toBe(b.size);
      const s = await chunked.getBlobStream('app/big', b.digest, b.size);
      const parts: Buffer[] = [];
      for await (const c of s) parts.push(c as Buffer);
      expect(Buffer.concat(parts).equals(b.bytes)).toBe(true);
    } finally {
      await chunked.close();
    }
  });

  test('content that does not match the descriptor is refused and nothing is committed', async () => {
    const chunked = new RegistryClient(reg.host, { monolithicMaxBytes: 1000, chunkSizeBytes: 4096 });
    try {
      const good = randomBytes(10_000);
      const bad = Buffer.from(good);
      bad[9000] ^= 0xff;
      const desc = blobOf(good);
      for (const c of [client, chunked]) {
        const e = await failure(c.pushBlob('app/bad', desc, () => Readable.from([bad])));
        expect(e.problems[0]!.code).toBe('DIG001');
        expect(await c.hasBlob('app/bad', desc.digest)).toBe(false);
        // Too short and too long are refused too.
        expect(codeOf(await failure(c.pushBlob('app/bad', desc, () => Readable.from([good.subarray(0, 5000)]))))).toBe('DIG001');
        expect(codeOf(await failure(c.pushBlob('app/bad', desc, () => Readable.from([good, Buffer.from('x')]))))).toBe('DIG001');
        expect(await c.hasBlob('app/bad', desc.digest)).toBe(false);
      }
    } finally {
      await chunked.close();
    }
  });

  test('a source that fails while being read: REG020, nothing committed, both upload paths', async () => {
    const chunked = new RegistryClient(reg.host, { monolithicMaxBytes: 1000, chunkSizeBytes: 4096 });
    try {
      const data = randomBytes(10_000);
      const desc = blobOf(data);
      const broken = (): Readable =>
        Readable.from(
          (async function* () {
            yield data.subarray(0, 6000);
            throw Object.assign(new Error('disk went away'), { code: 'EIO' });
          })(),
        );
      for (const c of [client, chunked]) {
        const e = await failure(c.pushBlob('app/broken', desc, broken));
        expect(e.problems[0]!.code).toBe('REG020');
        expect(e.message).toContain('EIO');
        expect(await c.hasBlob('app/broken', desc.digest)).toBe(false);
      }
    } finally {
      await chunked.close();
    }
  });

  test('streaming upload (digest known at the end): one chunked PATCH, committed under the digest; a wrong digest, a short count or a cancel commit nothing', async () => {
    const data = randomBytes(9 << 20);
    const desc = blobOf(data);
    const before = client.transport.attempts;
    const up = await client.startStreamingUpload('app/streamed');
    for (let i = 0; i < data.length; i += 333_333) await up.write(data.subarray(i, i + 333_333));
    expect(up.sent).toBe(data.length);
    expect(await up.commit(desc.digest, desc.size)).toBe(true);
    expect(up.failure).toBeUndefined();
    expect(client.transport.attempts - before).toBe(3); // POST, PATCH, PUT ?digest=
    expect((await client.getBlob('app/streamed', desc.digest)).equals(data)).toBe(true);

    const other = randomBytes(100_000);
    const wrong = await client.startStreamingUpload('app/streamed-bad');
    await wrong.write(other);
    expect(await wrong.commit(blobOf(Buffer.from('not these bytes')).digest, other.length)).toBe(false);
    expect(wrong.failure).toBeDefined();
    expect(await client.hasBlob('app/streamed-bad', blobOf(other).digest)).toBe(false);

    const short = await client.startStreamingUpload('app/streamed-bad');
    await short.write(other.subarray(0, 50_000));
    expect(await short.commit(blobOf(other).digest, other.length)).toBe(false);
    expect(await client.hasBlob('app/streamed-bad', blobOf(other).digest)).toBe(false);

    const cancelled = await client.startStreamingUpload('app/streamed-bad');
    await cancelled.write(other);
    await cancelled.cancel();
    expect(await client.hasBlob('app/streamed-bad', blobOf(other).digest)).toBe(false);
  });

  test('a streaming upload the registry refuses never throws: commit is false, the failure says why', async () => {
    const nowhere = new RegistryClient(`127.0.0.1:${await freePort()}`, { retries: 0, timeoutMs: 2000 });
    try {
      const up = await nowhere.startStreamingUpload('app/x');
      await up.write(Buffer.from('abc'));
      expect(await up.commit(blobOf(Buffer.from('abc')).digest, 3)).toBe(false);
      expect(up.failure).toBeDefined();
    } finally {
      await nowhere.close();
    }
  });

  test('cross-repository mount answers 201 and nothing is uploaded; a blob the source lacks is not mounted', async () => {
    const b = blobOf(randomBytes(50_000));
    await client.pushBlob('app/src', b, () => Readable.from([b.bytes]));
    let opened = 0;
    const before = client.transport.attempts;
    const r = await client.pushBlob('app/dst', b, () => {
      opened++;
      return Readable.from([b.bytes]);
    }, { from: 'app/src' });
    expect(r).toBe('mounted');
    expect(opened).toBe(0);
    expect(client.transport.attempts - before).toBe(2); // HEAD, POST ?mount
    expect(await client.hasBlob('app/dst', b.digest)).toBe(true);

    const missing = blobOf(randomBytes(100));
    expect(await client.mountBlob('app/dst2', missing.digest, 'app/src')).toBe(false);
    expect(await client.hasBlob('app/dst2', missing.digest)).toBe(false);
    // pushBlob falls back to an upload when the mount does not happen.
    expect(await client.pushBlob('app/dst2', missing, () => Readable.from([missing.bytes]), { from: 'app/src' })).toBe('uploaded');
    expect(await client.hasBlob('app/dst2', missing.digest)).toBe(true);
  });

  test('getBlob of a missing blob is REG004', async () => {
    expect(codeOf(await failure(client.getBlob('app/mono', `sha256:${'2'.repeat(64)}`)))).toBe('REG004');
  });
});

describe('images pushed with the client are readable by skopeo and umoci', () => {
  test('put manifest under a tag: skopeo inspect --raw shows our bytes; umoci unpacks our file', async () => {
    const img = await makeImage({ '/etc/greeting': 'hello from cleanimg\n' });
    for (const b of [img.layer, img.config]) expect(await client.pushBlob('app/img', b, () => Readable.from([b.bytes]))).toBe('uploaded');
    const digest = await client.putManifest('app/img', 'v1', img.manifest.bytes, img.mediaType);
    expect(digest).toBe(img.manifest.digest);

    const { stdout: raw } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/app/img:v1`]);
    expect(sha256Digest(Buffer.from(raw))).toBe(digest);
    const { stdout: info } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/app/img:v1`]);
    expect((JSON.parse(info) as { Digest: string }).Digest).toBe(digest);

    const layout = join(tmp, 'pulled');
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/app/img:v1`, `oci:${layout}:v1`]);
    const bundle = join(tmp, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, bundle]);
    expect(readFileSync(join(bundle, 'rootfs', 'etc', 'greeting'), 'utf8')).toBe('hello from cleanimg\n');

    // By digest as well; a wrong digest is refused before anything is sent.
    expect(await client.putManifest('app/img', digest, img.manifest.bytes, img.mediaType)).toBe(digest);
    expect(codeOf(await failure(client.putManifest('app/img', `sha256:${'3'.repeat(64)}`, img.manifest.bytes, img.mediaType)))).toBe('DIG001');
  });

  test('a manifest naming blobs the registry lacks is rejected (REG016) and the tag is not created', async () => {
    const img = await makeImage({ '/etc/y': 'y' });
    const e = await failure(client.putManifest('app/partial', 'v1', img.manifest.bytes, img.mediaType));
    expect(e.problems[0]!.code).toBe('REG016');
    expect(e.message).toMatch(/MANIFEST_BLOB_UNKNOWN/);
    expect(await client.headManifest('app/partial', 'v1')).toBeUndefined();
  });

  test('a Docker v2 manifest keeps its media type and digest', async () => {
    const img = await makeImage({ '/etc/z': 'z' }, { docker: true });
    for (const b of [img.layer, img.config]) await client.pushBlob('app/dock', b, () => Readable.from([b.bytes]));
    const digest = await client.putManifest('app/dock', 'v1', img.manifest.bytes, img.mediaType);
    const m = await client.getManifest('app/dock', 'v1');
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.digest).toBe(digest);
  });
});

describe('plain HTTP only for local registries', () => {
  test('localhost and 127.0.0.1 fall back from https to http', async () => {
    for (const host of [reg.host, reg.host.replace('127.0.0.1', 'localhost')]) {
      const c = new RegistryClient(host, { env: {} });
      try {
        expect((await c.getManifest('base/plain', 'v1')).digest).toBe(base.digest);
        expect(await c.transport.base()).toBe(`http://${host}`);
      } finally {
        await c.close();
      }
    }
  });

  test('a non-local name (0.0.0.0 reaches the same server) is refused over plain HTTP unless insecure', async () => {
    const host = reg.host.replace('127.0.0.1', '0.0.0.0');
    const strict = new RegistryClient(host, { env: {}, retries: 0 });
    try {
      const e = await failure(strict.getManifest('base/plain', 'v1'));
      expect(e.problems[0]!.code).toBe('REG011');
      expect(e.problems[0]!.fix).toMatch(/--insecure/);
    } finally {
      await strict.close();
    }
    const insecure = new RegistryClient(host, { env: {}, insecure: true });
    try {
      expect((await insecure.getManifest('base/plain', 'v1')).digest).toBe(base.digest);
      expect(await insecure.transport.base()).toBe(`http://${host}`);
    } finally {
      await insecure.close();
    }
  });
});
