/**
 * verifyTrust on images made of tar layers built here: chains through an intermediate given with the
 * server certificate, Debian-style symlinked hash names, whiteouts of the bundle, env-named bundles,
 * an expired anchor. Certificates come from openssl, made by the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { verifyTrust } from '../../../src/customize/trust/verify';
import { subjectHash } from '../../../src/customize/trust/x509';
import { MediaType, type Descriptor, type ImageConfig } from '../../../src/oci/types';
import { generateCa, issueServerCert } from '../../support/registry';
import { opensslVerify, run } from './support';

type E = { name: string; type?: 'file' | 'symlink'; content?: string; linkname?: string };

async function layer(entries: E[]): Promise<{ d: Descriptor; b: Buffer }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  for (const e of entries) {
    if ((e.type ?? 'file') === 'file') pack.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.content ?? ''));
    else pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname, mode: 0o777 });
  }
  pack.finalize();
  await done;
  const b = gzipSync(Buffer.concat(chunks));
  return { d: { mediaType: MediaType.OciLayerGzip, digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, size: b.length }, b };
}

async function image(layers: E[][], env: string[] = []) {
  const built = await Promise.all(layers.map(layer));
  const blobs = new Map(built.map((l) => [l.d.digest, l.b]));
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: { Env: env }, rootfs: { type: 'layers', diff_ids: [] } };
  return { layers: built.map((l) => l.d), open: async (d: Descriptor) => Readable.from([blobs.get(d.digest)!]), config };
}

let dir: string;
let root: string;
let rootHash: string;
let leafAndIntermediate: X509Certificate[];
let leafOnly: X509Certificate[];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cleanimg-trust-verify-'));
  const ca = generateCa(dir, 'root');
  // An intermediate CA signed by the root, and a server certificate signed by the intermediate.
  const ik = path.join(dir, 'int.key');
  run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', ik]);
  run('openssl', ['req', '-new', '-key', ik, '-subj', '/CN=cleanimg test intermediate', '-out', path.join(dir, 'int.csr')]);
  writeFileSync(path.join(dir, 'int.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  run('openssl', ['x509', '-req', '-in', path.join(dir, 'int.csr'), '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2', '-extfile', path.join(dir, 'int.ext'), '-out', path.join(dir, 'int.crt')]);
  const server = issueServerCert({ certFile: path.join(dir, 'int.crt'), keyFile: ik }, dir, 'leaf');
  root = readFileSync(ca.certFile, 'latin1');
  rootHash = subjectHash(new X509Certificate(root));
  const leaf = new X509Certificate(readFileSync(server.certFile));
  const inter = new X509Certificate(readFileSync(path.join(dir, 'int.crt')));
  leafAndIntermediate = [leaf, inter];
  leafOnly = [leaf];
  // openssl agrees on what these certificates mean.
  expect(opensslVerify(['-no-CApath', '-no-CAstore', '-CAfile', ca.certFile, '-untrusted', path.join(dir, 'int.crt'), server.certFile]).ok).toBe(true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verifyTrust', () => {
  it('walks leaf -> intermediate (given with it) -> root in the bundle and through symlinked hash names', async () => {
    const img = await image([
      [{ name: 'usr/share/ca-certificates/corp/root.crt', content: root }],
      [
        { name: 'etc/ssl/certs/ca-certificates.crt', content: root },
        { name: 'etc/ssl/certs/root.pem', type: 'symlink', linkname: '/usr/share/ca-certificates/corp/root.crt' },
        { name: `etc/ssl/certs/${rootHash}.0`, type: 'symlink', linkname: 'root.pem' },
      ],
    ]);
    const r = await verifyTrust({ ...img, certs: leafAndIntermediate });
    expect(r.trusted).toBe(true);
    expect(r.stores.map((s) => [s.kind, s.trusted, s.chain?.length])).toEqual([
      ['bundle', true, 3],
      ['hashdir', true, 3],
    ]);
    const alone = await verifyTrust({ ...img, certs: leafOnly });
    expect(alone.trusted).toBe(false);
    expect(alone.failures[0]).toMatch(/no trusted certificate issued CN=127.0.0.1 \(issuer CN=cleanimg test intermediate\)/);
  });

  it('a bundle deleted by a higher layer does not count; an env-named bundle that is missing fails', async () => {
    const gone = await image([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: root }], [{ name: 'etc/ssl/certs/.wh.ca-certificates.crt' }]]);
    const r = await verifyTrust({ ...gone, certs: leafAndIntermediate });
    expect(r.trusted).toBe(false);
    expect(r.failures).toEqual([expect.stringMatching(/the image has no CA bundle/)]);
    const env = await image([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: root }]], ['SSL_CERT_FILE=/opt/missing.pem', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt']);
    const e = await verifyTrust({ ...env, certs: leafAndIntermediate });
    expect(e.stores.map((s) => [s.path, s.source, s.trusted])).toEqual([
      ['/etc/ssl/certs/ca-certificates.crt', 'debian layout', true],
      ['/opt/missing.pem', 'env SSL_CERT_FILE', false],
    ]);
    expect(e.trusted).toBe(false);
  });

  it('a bundle that lacks the root, or a check at a time the chain has expired, is not trusted', async () => {
    const other = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'latin1');
    const img = await image([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: other }]]);
    expect((await verifyTrust({ ...img, certs: leafAndIntermediate })).trusted).toBe(false);
    const ok = await image([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: root }]]);
    const later = await verifyTrust({ ...ok, certs: leafAndIntermediate, now: new Date(Date.now() + 30 * 86400_000) });
    expect(later.trusted).toBe(false);
    expect(later.failures[0]).toMatch(/expired/);
  });
});
