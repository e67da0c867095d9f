/**
 * The cdk8s face: CustomizedImage passes trust_ca through, from a spec file and inline, offline on the
 * embedded base (which has no CA bundle: a new one is created and reported). Real openssl checks the
 * layout it writes.
 */
import { App, Chart } from 'cdk8s';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomizedImage } from '../../../src/cdk8s';
import { DEFAULT_BASE_REF } from '../../../src/customize/base-image';
import { makePki, opensslVerify, run, type Pki } from './support';

let tmp: string;
let pki: Pki;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cleanimg-trust-cdk8s-'));
  pki = makePki(path.join(tmp, 'pki'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const chart = (name: string) => new Chart(new App({ outdir: path.join(tmp, `out-${name}`) }), 'db');

describe('CustomizedImage with trust_ca', () => {
  it('inline fields: the embedded base has no bundle, so one is created with the CA; openssl verifies against it', () => {
    const dir = path.join(tmp, 'inline');
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'certs/corp-ca.crt'));
    const img = new CustomizedImage(chart('inline'), 'app', {
      spec: { fields: { base_image: DEFAULT_BASE_REF, arch: 'amd64', trust_ca: ['certs/corp-ca.crt'], trust_env: ['SSL_CERT_FILE'] }, dir },
      repository: 'registry.example.com/app',
      cacheDir: path.join(tmp, 'cache'),
    });
    expect(img.trust).toMatchObject({ layout: 'none', bundle: { path: '/etc/ssl/certs/ca-certificates.crt', created: true }, env: ['SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'] });
    expect(img.trust!.added.map((a) => a.anchorPath)).toEqual(['/usr/local/share/ca-certificates/corp-ca.crt']);
    const bundle = path.join(tmp, 'bundle-inline');
    run('umoci', ['unpack', '--rootless', '--image', `${img.layoutDir}:${img.layoutTag}`, bundle]);
    const certs = path.join(bundle, 'rootfs/etc/ssl/certs');
    expect(opensslVerify(['-no-CApath', '-no-CAstore', '-CAfile', path.join(certs, 'ca-certificates.crt'), pki.server.certFile]).ok).toBe(true);
    expect(opensslVerify(['-no-CAfile', '-no-CAstore', '-CApath', certs, pki.server.certFile]).ok).toBe(true);
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${img.layoutDir}:${img.layoutTag}`])) as { config: { Env?: string[] } };
    expect(cfg.config.Env).toContain('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt');
  });

  it('a spec file: trust_ca passes through, and the digest is the same on a second synth', () => {
    const dir = path.join(tmp, 'file');
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'certs/corp-ca.crt'));
    const fields = { base_image: DEFAULT_BASE_REF, arch: 'amd64', trust_ca: ['certs/corp-ca.crt'] };
    writeFileSync(path.join(dir, 'spec.yaml'), JSON.stringify(fields));
    const a = new CustomizedImage(chart('file'), 'app', { spec: path.join(dir, 'spec.yaml'), repository: 'registry.example.com/app', cacheDir: path.join(tmp, 'cache') });
    const b = new CustomizedImage(chart('file2'), 'app', { spec: path.join(dir, 'spec.yaml'), repository: 'registry.example.com/app', cacheDir: path.join(tmp, 'cache') });
    expect(a.trust?.added).toHaveLength(1);
    expect(b.digest).toBe(a.digest);
  });

  it('a leaf certificate fails construction with TC004 naming trust_ca[0], and writes no layout', () => {
    const dir = path.join(tmp, 'leaf');
    mkdirSync(dir, { recursive: true });
    copyFileSync(pki.leaf, path.join(dir, 'server.crt'));
    const out = path.join(tmp, 'leaf-layout');
    let err: (Error & { problems?: { code: string; path: string }[] }) | undefined;
    try {
      new CustomizedImage(chart('leaf'), 'app', { spec: { fields: { base_image: DEFAULT_BASE_REF, arch: 'amd64', trust_ca: ['server.crt'] }, dir }, repository: 'registry.example.com/app', cacheDir: path.join(tmp, 'cache'), outputDir: out });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.problems?.[0]).toMatchObject({ code: 'TC004', path: 'trust_ca[0]' });
    expect(() => run('ls', [out])).toThrow();
  });
});
