// A small image made with real tools (umoci, skopeo) and pushed to a test registry.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk, tool } from './tools';

export interface PushedImage {
  /** host/repo:tag */
  tagRef: string;
  /** host/repo@sha256:... */
  digestRef: string;
  digest: string;
}

/**
 * Build a one-file image with umoci (user 65532) and push it with skopeo to
 * `host/repo:tag` over plain HTTP. `content` makes images distinct.
 */
export async function pushSmallImage(host: string, repo: string, tag: string, content: string): Promise<PushedImage> {
  const umoci = tool('umoci');
  const skopeo = tool('skopeo');
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-image-'));
  try {
    const layout = join(dir, 'layout');
    const bundle = join(dir, 'bundle');
    await runOk(umoci, ['init', '--layout', layout]);
    await runOk(umoci, ['new', '--image', `${layout}:${tag}`]);
    await runOk(umoci, ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
    writeFileSync(join(bundle, 'rootfs', 'hello.txt'), content);
    await runOk(umoci, ['repack', '--image', `${layout}:${tag}`, bundle]);
    await runOk(umoci, ['config', '--image', `${layout}:${tag}`, '--config.user', '65532:65532']);
    const tagRef = `${host}/${repo}:${tag}`;
    await runOk(skopeo, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${tagRef}`]);
    const digest = (
      await runOk(skopeo, ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${tagRef}`])
    ).stdout.trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`skopeo inspect gave no digest for ${tagRef}: ${digest}`);
    return { tagRef, digestRef: `${host}/${repo}@${digest}`, digest };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
