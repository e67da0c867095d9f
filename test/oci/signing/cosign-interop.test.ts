/**
 * Interop with the real tools: Debian's docker-registry, skopeo, and cosign (built from the Go module
 * proxy; set $COSIGN or build into /root/.cache/cleanimg-tools/cosign-v2). Skipped when a tool is missing.
 *
 * Proves: cosign verifies our signatures with our generated key; cosign appends its own signature to our
 * .sig image and we verify it; we append to cosign's .sig image and cosign still verifies both; cosign
 * decrypts our key files and we load cosign's.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkShellFree } from '../../../src/oci/inspect/shells';
import { signImage, signatureTag } from '../../../src/oci/signing/cosign';
import { goConfigFile, goManifest } from '../../../src/oci/signing/gojson';
import { loadPrivateKeyFile, loadPublicKey, writeKeyPair, type SigningKey } from '../../../src/oci/signing/keys';
import { verifyImage, verifyImageSignatures } from '../../../src/oci/signing/verify';
import { HttpSource, LayoutSource, findCosigns, haveTool, run, startRegistry, writeLayout } from './layout-tools';

const cosigns = findCosigns();
const tools = haveTool('docker-registry') && haveTool('skopeo');
if (!tools || cosigns.length === 0) {
  process.stderr.write(`[cosign interop] skipped: needs ${[!haveTool('docker-registry') && 'docker-registry', !haveTool('skopeo') && 'skopeo', cosigns.length === 0 && 'cosign (v2 or v3: bash test/e2e/provision.sh cosign-v3, or COSIGN=/path/to/cosign)'].filter(Boolean).join(', ')}\n`);
}
const sha = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o755, mtime: new Date(0) }, content);
  pack.finalize();
  await done;
  return zlib.gzipSync(Buffer.concat(chunks));
}

describe.skipIf(!tools || cosigns.length === 0)('cosign interop (real registry, skopeo, cosign)', () => {
 describe.each(cosigns)('cosign $bin (v$major)', ({ bin: cosign, major }) => {
  /** cosign v3 writes Sigstore bundles by default; ask for the .sig tag format where a test needs it. */
  const legacy = major >= 3 ? ['--new-bundle-format=false', '--use-signing-config=false'] : [];
  let tmp: string;
  let reg: Awaited<ReturnType<typeof startRegistry>>;
  let repo: string;
  let digest: string;
  let ours: SigningKey;
  let oursPub: string;
  const cosignPw = crypto.randomBytes(8).toString('hex');
  const ourPw = crypto.randomBytes(8).toString('hex');

  const skopeo = (...args: string[]) => {
    const r = run('skopeo', args);
    if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const cosignRun = (args: string[], pw = cosignPw) => run(cosign, args, { COSIGN_PASSWORD: pw, COSIGN_EXPERIMENTAL: '0', TUF_ROOT: path.join(tmp, 'tuf') });
  /** Pull the current .sig image into a fresh layout. */
  const pullSig = (name: string) => {
    const dir = path.join(tmp, name);
    skopeo('copy', '--src-tls-verify=false', '--preserve-digests', `docker://${repo}:${signatureTag(digest)}`, `oci:${dir}:sig`);
    return new LayoutSource(dir);
  };
  const pushSig = (img: ReturnType<typeof signImage>, name: string) => {
    const dir = path.join(tmp, name);
    writeLayout(dir, 'sig', { bytes: img.manifest, mediaType: img.mediaType }, img.blobs.map((b) => b.bytes));
    skopeo('copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${dir}:sig`, `docker://${repo}:${img.tag}`);
  };

  /** Push a layer-less image with this config under `tag`; returns its digest. */
  const pushEmptyImage = (tag: string, cfg: object) => {
    const config = Buffer.from(JSON.stringify(cfg));
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] }),
    );
    const d = writeLayout(path.join(tmp, `img-${tag}`), tag, { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, [config]);
    skopeo('copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${path.join(tmp, `img-${tag}`)}:${tag}`, `docker://${repo}:${tag}`);
    return d;
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cleanimg-cosign-'));
    reg = await startRegistry(tmp);
    repo = `${reg.addr}/app`;
    // a tiny image with a shell in it, pushed with skopeo from a layout we write
    const layer = await tarGz({ 'bin/busybox': 'ELF', 'app/run': 'ELF' });
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { User: '65532:65532' }, rootfs: { type: 'layers', diff_ids: [sha(zlib.gunzipSync(layer))] } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
      }),
    );
    digest = writeLayout(path.join(tmp, 'img'), 'v1', { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, [config, layer]);
    skopeo('copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${path.join(tmp, 'img')}:v1`, `docker://${repo}:v1`);

    fs.mkdirSync(path.join(tmp, 'ours'));
    const files = await writeKeyPair(path.join(tmp, 'ours'), ourPw);
    ours = await loadPrivateKeyFile(files.keyPath, ourPw);
    oursPub = files.pubPath;
    fs.mkdirSync(path.join(tmp, 'theirs'));
    const g = run(cosign, ['generate-key-pair', '--output-key-prefix', path.join(tmp, 'theirs', 'cosign')], { COSIGN_PASSWORD: cosignPw });
    if (g.status !== 0) throw new Error(g.stderr);
  }, 120_000);

  afterAll(async () => {
    await reg?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('cosign decrypts our key file, and we load cosign\'s', async () => {
    const r = cosignRun(['public-key', '--key', path.join(tmp, 'ours', 'cosign.key')], ourPw);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(fs.readFileSync(oursPub, 'utf8'));
    const wrong = cosignRun(['public-key', '--key', path.join(tmp, 'ours', 'cosign.key')], 'not-the-password');
    expect(wrong.status).not.toBe(0);
    const theirs = await loadPrivateKeyFile(path.join(tmp, 'theirs', 'cosign.key'), cosignPw);
    expect(theirs.publicKeyPem).toBe(fs.readFileSync(path.join(tmp, 'theirs', 'cosign.pub'), 'utf8'));
  });

  it('cosign verify --key accepts our signature and rejects it under another key', () => {
    pushSig(signImage({ imageDigest: digest, repository: repo, key: ours }), 'sig1');
    const ok = cosignRun(['verify', '--key', oursPub, '--insecure-ignore-tlog', '--allow-insecure-registry', `${repo}@${digest}`]);
    expect(ok.status, ok.stderr).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(out[0].critical.image['docker-manifest-digest']).toBe(digest);
    expect(out[0].critical.identity['docker-reference']).toBe(repo);
    const bad = cosignRun(['verify', '--key', path.join(tmp, 'theirs', 'cosign.pub'), '--insecure-ignore-tlog', '--allow-insecure-registry', `${repo}@${digest}`]);
    expect(bad.status).not.toBe(0);
  });

  it('cosign appends its signature to our .sig image; we verify both, each under its own key', async () => {
    const s = cosignRun(['sign', '--key', path.join(tmp, 'theirs', 'cosign.key'), '--tlog-upload=false', ...legacy, '--allow-insecure-registry', '-y', `${repo}@${digest}`]);
    expect(s.status, s.stderr).toBe(0);
    const src = pullSig('pulled1');
    const fetched = await src.getManifest('sig');
    const m = JSON.parse(fetched.bytes.toString());
    expect(m.layers).toHaveLength(2);
    // cosign's bytes are what our Go-compatible encoders write for the same content
    expect(goManifest(m)).toBe(fetched.bytes.toString());
    const cfgBytes = (await src.getBlob(m.config.digest)).toString();
    expect(goConfigFile(JSON.parse(cfgBytes))).toBe(cfgBytes);
    expect(JSON.parse(cfgBytes).rootfs.diff_ids).toEqual(m.layers.map((l: { digest: string }) => l.digest));
    const theirsPub = loadPublicKey(fs.readFileSync(path.join(tmp, 'theirs', 'cosign.pub')));
    // LayoutSource resolves the .sig tag name as its ref: re-tag inside the layout
    const viaTag = { name: src.name, getBlob: src.getBlob.bind(src), getManifest: (ref: string) => src.getManifest(ref === signatureTag(digest) ? 'sig' : ref) };
    const r1 = await verifyImageSignatures(viaTag, digest, theirsPub);
    expect(r1.valid.map((v) => v.layerIndex)).toEqual([1]);
    expect(r1.rejected.map((r) => r.reason)).toEqual(['bad-signature']);
    const r2 = await verifyImageSignatures(viaTag, digest, ours.publicKey);
    expect(r2.valid.map((v) => v.layerIndex)).toEqual([0]);
  });

  it('we append to the .sig image cosign wrote; cosign still verifies both keys', async () => {
    const src = pullSig('pulled2');
    const existing = await src.getManifest('sig');
    const cfg = await src.getBlob(JSON.parse(existing.bytes.toString()).config.digest);
    // a second key of ours, so the dupe detector does not skip it
    fs.mkdirSync(path.join(tmp, 'ours2'));
    const k2files = await writeKeyPair(path.join(tmp, 'ours2'), ourPw);
    const k2 = await loadPrivateKeyFile(k2files.keyPath, ourPw);
    const img = signImage({ imageDigest: digest, repository: repo, key: k2, existing: { manifest: existing.bytes, config: cfg } });
    expect(img.appended).toBe(true);
    // re-signing with the first key is a duplicate: nothing new
    expect(signImage({ imageDigest: digest, repository: repo, key: ours, existing: { manifest: existing.bytes, config: cfg } }).appended).toBe(false);
    pushSig(img, 'sig3');
    for (const pub of [oursPub, k2files.pubPath, path.join(tmp, 'theirs', 'cosign.pub')]) {
      const v = cosignRun(['verify', '--key', pub, '--insecure-ignore-tlog', '--allow-insecure-registry', `${repo}@${digest}`]);
      expect(v.status, `${pub}: ${v.stderr}`).toBe(0);
    }
  });

  it('a .sig image cosign makes from scratch is byte-identical to ours but for the signature value', async () => {
    // a second image, signed only by cosign
    const d2 = pushEmptyImage('v2', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const s = cosignRun(['sign', '--key', path.join(tmp, 'theirs', 'cosign.key'), '--tlog-upload=false', ...legacy, '--allow-insecure-registry', '-y', `${repo}@${d2}`]);
    expect(s.status, s.stderr).toBe(0);
    const dir = path.join(tmp, 'pulled-fresh');
    skopeo('copy', '--src-tls-verify=false', '--preserve-digests', `docker://${repo}:${signatureTag(d2)}`, `oci:${dir}:sig`);
    const src = new LayoutSource(dir);
    const theirs = (await src.getManifest('sig')).bytes;
    const theirsM = JSON.parse(theirs.toString());
    const payload = await src.getBlob(theirsM.layers[0].digest);

    const mine = signImage({ imageDigest: d2, repository: repo, key: ours });
    expect(payload.toString()).toBe(mine.payload.toString());
    expect((await src.getBlob(theirsM.config.digest)).toString()).toBe(mine.blobs[0]!.bytes.toString());
    const theirSig = theirsM.layers[0].annotations['dev.cosignproject.cosign/signature'];
    expect(theirs.toString()).toBe(mine.manifest.toString().replace(mine.signature, theirSig));
  });

  it.skipIf(major < 3)('cosign v3 default (Sigstore bundle) signatures verify with ours, under the referrers fallback tag', async () => {
    const d3 = pushEmptyImage('v3', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { User: '1' } });
    const s = cosignRun(['sign', '--key', path.join(tmp, 'theirs', 'cosign.key'), '--tlog-upload=false', '--use-signing-config=false', '--allow-insecure-registry', '-y', `${repo}@${d3}`]);
    expect(s.status, s.stderr).toBe(0);
    // read the referrers fallback tag straight from the registry
    const http = new HttpSource(reg.addr, 'app');
    const index = JSON.parse((await http.getManifest(d3.replace(':', '-'))).bytes.toString());
    expect(index.manifests.length).toBeGreaterThan(0);
    const theirsPub = loadPublicKey(fs.readFileSync(path.join(tmp, 'theirs', 'cosign.pub')));
    const res = await verifyImage(http, d3, theirsPub);
    expect(res.valid.map((v) => v.format), JSON.stringify(res.rejected)).toEqual(['bundle']);
    expect(res.rejected).toEqual([]);
    const wrong = await verifyImage(http, d3, ours.publicKey);
    expect(wrong.verified).toBe(false);
    expect(wrong.rejected.map((r) => r.reason)).toContain('bad-signature');
  });

  it('cosign verify -a checks the annotations we put in the payload', () => {
    const d4 = pushEmptyImage('v4', { architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    pushSig(signImage({ imageDigest: d4, repository: repo, key: ours, annotations: { team: 'a<b>&c', build: '42' } }), 'sig-annotated');
    const base = ['verify', '--key', oursPub, '--insecure-ignore-tlog', '--allow-insecure-registry'];
    const ok = cosignRun([...base, '-a', 'team=a<b>&c', '-a', 'build=42', `${repo}@${d4}`]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)[0].optional).toEqual({ team: 'a<b>&c', build: '42' });
    const bad = cosignRun([...base, '-a', 'team=other', `${repo}@${d4}`]);
    expect(bad.status).not.toBe(0);
  });

  it('the shell check reads the pushed image as skopeo copies it, and finds busybox', async () => {
    const dir = path.join(tmp, 'pulled-img');
    skopeo('copy', '--src-tls-verify=false', '--preserve-digests', `docker://${repo}@${digest}`, `oci:${dir}:img`);
    const src = new LayoutSource(dir);
    const m = JSON.parse((await src.getManifest('img')).bytes.toString());
    const config = JSON.parse((await src.getBlob(m.config.digest)).toString());
    const res = await checkShellFree({ layers: m.layers, config }, src.openLayer);
    expect(res.findings.map((f) => [f.path, f.kind])).toEqual([['/bin/busybox', 'busybox']]);
    expect(res.user).toEqual({ user: '65532:65532', isRoot: false, uid: 65532, gid: 65532 });
  });
});
});
