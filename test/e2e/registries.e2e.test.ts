// The tier's two registry implementations, checked with independent clients: Debian's
// docker-registry (distribution 2.8) and the distribution v3 registry built from the Go
// module proxy. An image pushed by skopeo reads back the same through crane and skopeo,
// unpacks with umoci. Facts both share (checked, not assumed): an OCI manifest is served only
// to an Accept that lists the OCI type, and neither serves the OCI referrers API (distribution
// v3.1.2 has no referrers endpoint either): referrers go through the tag fallback.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSmallImage, type PushedImage } from './support/image';
import { startRegistry, type Registry, type RegistryImpl } from './support/registry';
import { runOk, skipWithout, tool } from './support/tools';

function httpGet(url: string, accept: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const CASES: { impl: RegistryImpl }[] = [{ impl: 'docker-registry' }, { impl: 'distribution-registry' }];

for (const { impl } of CASES) {
  describe.skipIf(skipWithout([impl, 'skopeo', 'umoci', 'crane']))(`registry ${impl}`, () => {
    let reg: Registry;
    let img: PushedImage;
    const content = `hello from ${impl}\n`;

    beforeAll(async () => {
      reg = await startRegistry(impl);
      img = await pushSmallImage(reg.host, 'e2e/hello', 'v1', content);
    });
    afterAll(async () => {
      await reg?.stop();
    });

    it('crane reads the digest skopeo pushed, and the manifest is OCI', async () => {
      const crane = tool('crane');
      const digest = (await runOk(crane, ['digest', '--insecure', img.tagRef])).stdout.trim();
      expect(digest).toBe(img.digest);
      const manifest = JSON.parse((await runOk(crane, ['manifest', '--insecure', img.digestRef])).stdout) as {
        schemaVersion: number;
        mediaType?: string;
        config: { mediaType: string };
        layers: unknown[];
      };
      // umoci leaves out the optional top-level mediaType; the config type says OCI.
      expect(manifest.schemaVersion).toBe(2);
      expect(manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json').toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
      expect(manifest.layers).toHaveLength(1);
      const config = JSON.parse((await runOk(crane, ['config', '--insecure', img.digestRef])).stdout) as { config: { User: string } };
      expect(config.config.User).toBe('65532:65532');
    });

    it('skopeo copies it back to an OCI layout and umoci unpacks the file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pull-'));
      try {
        await runOk(tool('skopeo'), ['copy', '--quiet', '--src-tls-verify=false', `docker://${img.digestRef}`, `oci:${join(dir, 'layout')}:pulled`]);
        await runOk(tool('umoci'), ['unpack', '--rootless', '--image', `${join(dir, 'layout')}:pulled`, join(dir, 'bundle')]);
        expect(readFileSync(join(dir, 'bundle', 'rootfs', 'hello.txt'), 'utf8')).toBe(content);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('serves the OCI manifest only to an Accept that lists the OCI type', async () => {
      const url = `http://${reg.host}/v2/e2e/hello/manifests/${img.digest}`;
      const oci = await httpGet(url, 'application/vnd.oci.image.manifest.v1+json');
      expect(oci.status).toBe(200);
      expect(oci.type).toContain('application/vnd.oci.image.manifest.v1+json');
      const docker = await httpGet(url, 'application/vnd.docker.distribution.manifest.v2+json');
      expect(docker.status).toBe(404);
      expect(docker.body).toContain('MANIFEST_UNKNOWN');
    });

    it('has no OCI referrers API (404): clients use the sha256-<hex> tag fallback', async () => {
      const r = await httpGet(`http://${reg.host}/v2/e2e/hello/referrers/${img.digest}`, 'application/vnd.oci.image.index.v1+json');
      expect(r.status).toBe(404);
    });
  });
}
