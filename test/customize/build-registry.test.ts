/**
 * The overlay's manifest, config and layer as a real registry sees them: the output layout is copied
 * with skopeo to Debian's docker-registry (distribution 2.8) on 127.0.0.1, and read back. The registry
 * keeps our manifest bytes, so the digest we computed is the digest it serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildOverlay } from '../../src/customize/build';
import { LayoutImageSource } from '../../src/oci/layout';
import { cleanupTmp, makeBaseLayout, makeCert, run, specYaml, tmp, write, writeSpec } from './fixtures';
import { freePort } from '../support/registry';

let registry: ChildProcess | undefined;
let port = 0;
let root: string;


async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry did not start at ${url}`);
}

beforeAll(async () => {
  root = tmp();
  port = await freePort();
  const cfg = path.join(root, 'registry.yml');
  writeFileSync(cfg, `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${path.join(root, 'data')}}}\nhttp: {addr: 127.0.0.1:${port}}\n`);
  registry = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  await waitFor(`http://127.0.0.1:${port}/v2/`);
});

afterAll(async () => {
  if (registry?.pid) {
    process.kill(registry.pid, 'SIGTERM');
    await new Promise((r) => registry!.once('exit', r));
  }
  cleanupTmp();
});

describe('overlay image in a real registry', () => {
  it('is accepted byte for byte: same digest, config and layers', async () => {
    const base = makeBaseLayout(root);
    const dir = path.join(root, 'spec');
    write(path.join(dir, 'ca.crt'), makeCert(root, { cn: 'Registry Test CA', ca: true }));
    write(path.join(dir, 'app.conf'), 'a = 1\n');
    const specPath = writeSpec(dir, specYaml(`cleanstart/app:1-prod@${base.digest}`, [
      { source: 'ca.crt', destination: '/etc/ssl/certs/registry-test-ca.crt' },
      { source: 'app.conf', destination: '/etc/app/app.conf', mode: '0640', owner: '0:65532' },
    ]));
    const out = path.join(root, 'out');
    const r = await buildOverlay({ specPath, source: await LayoutImageSource.open(base.layout), outputLayout: out, tag: 'v1', sourceDateEpoch: 0 });
    const ref = `docker://127.0.0.1:${port}/team/app:v1`;
    run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${out}:v1`, ref]);
    const info = JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', ref]));
    expect(info.Digest).toBe(r.manifestDigest);
    expect(info.Layers.at(-1)).toBe(r.layer.digest);
    const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', ref]);
    expect(Buffer.from(raw).equals(r.manifestBytes)).toBe(true);
    const cfg = run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', ref]);
    expect(Buffer.from(cfg).equals(r.configBytes)).toBe(true);
    // The registry serves it by digest too, with the OCI media type.
    const res = await fetch(`http://127.0.0.1:${port}/v2/team/app/manifests/${r.manifestDigest}`, { headers: { Accept: r.manifestMediaType } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(r.manifestMediaType);
    expect(res.headers.get('docker-content-digest')).toBe(r.manifestDigest);
  });
});
