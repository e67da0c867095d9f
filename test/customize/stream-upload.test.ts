/**
 * The layer is uploaded while it is built (LayerStreamer): against the real registry, through a small
 * proxy of our own that counts requests and can refuse streamed (chunked) PATCHes. A refused stream
 * falls back to the ordinary upload; either way the registry ends up with the image we computed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOverlay } from '../../src/customize/build';
import { LayerCache } from '../../src/customize/cache';
import { LayerStreamer, pushOverlay } from '../../src/customize/push';
import { parseReference } from '../../src/oci/reference';
import { RegistryClient, RegistryImageSource } from '../../src/oci/registry';
import { pushBaseImage, type PushedImage } from '../support/base-image';
import { runCli } from '../support/cli';
import { startRegistry, type TestRegistry } from '../support/registry';
import { cleanupTmp, specYaml, tmp, write, writeSpec } from './fixtures';

/** Bytes the client sent in blob uploads (PATCH and PUT bodies of /blobs/uploads/) since `seen` was cleared. */
const blobBytesSent = () => seen.filter((s) => s.method === 'PATCH' || s.method === 'PUT').reduce((n, s) => n + s.bytes, 0);

let reg: TestRegistry;
let base: PushedImage;
let proxy: Server;
let proxyHost: string;
let refuseStreams = false;
const seen: { method: string; url: string; chunked: boolean; bytes: number }[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  base = await pushBaseImage(reg, 'base/stream', '1');
  const [host, port] = reg.host.split(':');
  proxy = createServer((req, res) => {
    const chunked = req.headers['transfer-encoding'] === 'chunked';
    const entry = { method: req.method ?? '', url: req.url ?? '', chunked, bytes: 0 };
    seen.push(entry);
    req.on('data', (d: Buffer) => (entry.bytes += d.length));
    if (refuseStreams && req.method === 'PATCH' && chunked) {
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNSUPPORTED","message":"no streamed uploads here"}]}');
      return;
    }
    const up = httpRequest({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => proxy.close(() => r()));
  await reg.stop();
  cleanupTmp();
});

async function buildAndPush(repo: string) {
  const dir = tmp();
  write(path.join(dir, 'data.bin'), randomBytes(3 << 20));
  write(path.join(dir, 'app.conf'), 'threads = 4\n'.repeat(50_000));
  const specPath = writeSpec(dir, specYaml(base.ref.replace(reg.host, proxyHost), [
    { source: 'data.bin', destination: '/opt/app/data.bin' },
    { source: 'app.conf', destination: '/etc/app/app.conf' },
  ]));
  const client = new RegistryClient(proxyHost);
  const ref = parseReference(`${proxyHost}/${repo}:1`);
  const streamer = new LayerStreamer(client, ref.repository);
  try {
    const built = await buildOverlay({ specPath, source: new RegistryImageSource(client, base.repository), cache: new LayerCache(path.join(dir, 'cache')), onLayerData: streamer.onData });
    const streamed = await streamer.commit(built);
    const pushed = await pushOverlay(built, { target: client, ref, baseRef: parseReference(base.ref.replace(reg.host, proxyHost)), ...(streamed ? { streamedLayer: { digest: built.layer.descriptor.digest } } : {}) });
    await built.dispose();
    return { built, pushed, streamed };
  } finally {
    await client.close();
  }
}

describe('uploading the layer while it is built', () => {
  it('streams it in one chunked PATCH; the registry serves the image we computed', async () => {
    refuseStreams = false;
    seen.length = 0;
    const { built, pushed, streamed } = await buildAndPush('stream/ok');
    expect(streamed).toBe(true);
    expect(seen.filter((s) => s.method === 'PATCH' && s.chunked)).toHaveLength(1);
    expect(pushed.blobs.find((b) => b.what === 'overlay layer')!.outcome).toBe('uploaded');
    expect(pushed.bytesUploaded).toBeGreaterThanOrEqual(built.layer.descriptor.size);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/stream/ok:1`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(built.manifestDigest);
    expect(inspect.Layers).toContain(built.layer.descriptor.digest);
    // The blob the registry holds hashes to the digest (skopeo copy verifies every blob it reads).
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/stream/ok:1`, `oci:${path.join(tmp(), 'copy')}:x`]);
  });

  it('falls back to the ordinary upload when the registry refuses the stream', async () => {
    refuseStreams = true;
    seen.length = 0;
    const { built, pushed, streamed } = await buildAndPush('stream/refused');
    expect(streamed).toBe(false);
    expect(seen.some((s) => s.method === 'PATCH' && s.chunked)).toBe(true);
    expect(pushed.blobs.find((b) => b.what === 'overlay layer')!.outcome).toBe('uploaded');
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/stream/refused:1`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(built.manifestDigest);
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/stream/refused:1`, `oci:${path.join(tmp(), 'copy')}:x`]);
  });

  it('closes the upload when the last byte is built (onLayerBuilt), before the layer file is flushed; a refused stream still falls back', async () => {
    for (const refuse of [false, true]) {
      refuseStreams = refuse;
      const dir = tmp();
      write(path.join(dir, 'data.bin'), randomBytes(3 << 20));
      const specPath = writeSpec(dir, specYaml(base.ref.replace(reg.host, proxyHost), [{ source: 'data.bin', destination: '/opt/app/data.bin' }]));
      const client = new RegistryClient(proxyHost);
      const ref = parseReference(`${proxyHost}/stream/early-${refuse ? 'refused' : 'ok'}:1`);
      const streamer = new LayerStreamer(client, ref.repository);
      const calls: { digest: string; size: number; beforeReturn: boolean }[] = [];
      let returned = false;
      try {
        const built = await buildOverlay({
          specPath,
          source: new RegistryImageSource(client, base.repository),
          onLayerData: streamer.onData,
          onLayerBuilt: (b) => {
            calls.push({ ...b, beforeReturn: !returned });
            streamer.onBuilt(b);
          },
        });
        returned = true;
        expect(calls).toEqual([{ digest: built.layer.digest, size: built.layer.size, beforeReturn: true }]);
        // The commit's answer goes to the push unawaited (as the CLI does): a refused stream is uploaded from the file there.
        seen.length = 0;
        const committed = streamer.commit(built);
        const pushed = await pushOverlay(built, { target: client, ref, baseRef: parseReference(base.ref.replace(reg.host, proxyHost)), streamedLayer: { digest: built.layer.descriptor.digest, committed } });
        expect(await committed).toBe(!refuse);
        expect(pushed.blobs.find((b) => b.what === 'overlay layer')!.outcome).toBe('uploaded');
        expect(blobBytesSent() >= built.layer.size).toBe(refuse); // sent again only when the stream was refused
        await built.dispose();
        const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/${ref.repository}:1`], { encoding: 'utf8' }));
        expect(inspect.Digest).toBe(built.manifestDigest);
        execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/${ref.repository}:1`, `oci:${path.join(tmp(), 'copy')}:x`]);
      } finally {
        await client.close();
      }
    }
    refuseStreams = false;
  });

  it('the CLI streams a new tag, but builds a re-push first and sends nothing the registry has (an empty cache, e.g. CI)', async () => {
    refuseStreams = false;
    const dir = tmp();
    write(path.join(dir, 'data.bin'), randomBytes(2 << 20));
    const specPath = writeSpec(dir, specYaml(base.ref.replace(reg.host, proxyHost), [{ source: 'data.bin', destination: '/opt/app/data.bin' }]));
    const push = async (tag: string) => {
      seen.length = 0;
      const r = await runCli(['build', '--spec', specPath, '--tag', `${proxyHost}/stream/ci:${tag}`, '--push', '--no-cache', '--json']);
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out);
      const config = out.blobs.find((b: { what: string }) => b.what === 'config');
      const configHeads = seen.filter((s) => s.method === 'HEAD' && s.url.endsWith(`/blobs/${config.digest}`)).length;
      return { ...out, config, configHeads, sent: blobBytesSent(), streamedPatch: seen.some((s) => s.method === 'PATCH' && s.chunked) };
    };
    // A tag that does not exist: the layer is uploaded while it is built.
    const first = await push('1');
    expect(first.streamedPatch).toBe(true);
    expect(first.sent).toBeGreaterThanOrEqual(first.layer.size);
    // Its config names the new layer: sent without asking first.
    expect(first.configHeads).toBe(0);
    expect(first.config.outcome).toBe('uploaded');
    // The same tag again from an empty cache: built, HEADed, nothing sent; the report says so.
    const again = await push('1');
    expect(again.digest).toBe(first.digest);
    expect(again.streamedPatch).toBe(false);
    expect(again.sent).toBe(0);
    expect(again.bytesUploaded).toBe(0);
    expect(again.config.outcome).toBe('exists');
    // A changed file under the existing tag: built first, then uploaded (not streamed), and the tag moves.
    write(path.join(dir, 'data.bin'), randomBytes(2 << 20));
    const changed = await push('1');
    expect(changed.digest).not.toBe(first.digest);
    expect(changed.streamedPatch).toBe(false);
    expect(changed.sent).toBeGreaterThanOrEqual(changed.layer.size);
    expect(changed.blobs.find((b: { what: string }) => b.what === 'overlay layer').outcome).toBe('uploaded');
    expect(changed.configHeads).toBe(1); // not streamed: every blob is asked for first
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/stream/ci:1`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(changed.digest);
    // The known cost: a new tag streams, even when the repository already has that layer.
    const newTag = await push('2');
    expect(newTag.digest).toBe(changed.digest);
    expect(newTag.streamedPatch).toBe(true);
    // And its config, which the registry has too, is sent again (a few hundred bytes, reported as uploaded).
    expect(newTag.configHeads).toBe(0);
    expect(newTag.config.outcome).toBe('uploaded');
    expect(JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/stream/ci:2`], { encoding: 'utf8' })).Digest).toBe(changed.digest);
  });
});
