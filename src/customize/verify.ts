/**
 * Checks a pushed image the way a deployer would: its cosign signature (when a key is given), that no
 * layer leaves a shell or busybox in the final filesystem, and that its config does not run as root.
 */
import type * as crypto from 'node:crypto';
import { CleanimgError } from '../errors';
import { checkShellFree, type ShellCheckResult } from '../oci/inspect';
import { selectPlatform, isIndexMediaType } from '../oci/platform';
import { refName, type Reference } from '../oci/reference';
import { RegistryImageSource, type RegistryClient } from '../oci/registry';
import { verifyImage, type VerifyResult } from '../oci/signing';
import type { ImageConfig, ImageIndex, ImageManifest } from '../oci/types';

export interface VerifyPushedOptions {
  readonly client: RegistryClient;
  readonly ref: Reference;
  readonly publicKey?: crypto.KeyObject;
  /** For an index: which platform to check. @default amd64 */
  readonly arch?: string;
}

export interface VerifyPushedResult {
  readonly image: string;
  readonly digest: string;
  /** When the reference was an index: the platform manifest that was checked. */
  readonly platformDigest?: string;
  readonly signature?: VerifyResult;
  readonly shell: ShellCheckResult;
  readonly ok: boolean;
  readonly failures: readonly string[];
}

export async function verifyPushed(opts: VerifyPushedOptions): Promise<VerifyPushedResult> {
  const { client, ref } = opts;
  const repo = ref.repository;
  const source = new RegistryImageSource(client, repo);
  const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest');
  const digest = top.digest;
  let manifestBytes = top.bytes;
  let platformDigest: string | undefined;
  if (isIndexMediaType(top.mediaType)) {
    const choice = selectPlatform(JSON.parse(top.bytes.toString('utf8')) as ImageIndex, { architecture: opts.arch ?? 'amd64', os: 'linux' }, refName(ref));
    platformDigest = choice.descriptor.digest;
    manifestBytes = (await client.getManifest(repo, platformDigest)).bytes;
  }
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new CleanimgError(`${refName(ref)} is not an image`, [{ code: 'VERIFY001', path: digest, message: 'the manifest has no config or layers', fix: 'name an image manifest or index' }]);
  }
  const config = JSON.parse((await client.getBlob(repo, manifest.config.digest)).toString('utf8')) as ImageConfig;
  const shell = await checkShellFree({ layers: manifest.layers, config }, (d) => client.getBlobStream(repo, d.digest, d.size));
  const signature = opts.publicKey ? await verifyImage(source, digest, opts.publicKey, { expectedDockerReference: refName(ref) }) : undefined;

  const failures: string[] = [];
  if (signature && !signature.verified) failures.push(`no valid signature for ${digest} with the given key`);
  failures.push(...inspectionFailures(shell, config));
  return { image: `${refName(ref)}@${digest}`, digest, ...(platformDigest ? { platformDigest } : {}), ...(signature ? { signature } : {}), shell, ok: failures.length === 0, failures };
}

/** What the filesystem inspection finds wrong: shells (by path, name or contents), a root or unresolvable user. */
export function inspectionFailures(shell: ShellCheckResult, config: ImageConfig): string[] {
  const out = shell.findings.map((f) => `${f.kind === 'content' ? `a ${f.shell} binary (by its contents)` : f.kind} at ${f.path}${f.target ? ` (-> ${f.target})` : ''}, from layer ${f.layer + 1}`);
  const user = JSON.stringify(config.config?.User ?? '');
  if (shell.user.isRoot) out.push(`the image runs as root (config User ${user}${shell.user.uid === 0 && !/^(0*|root)(:|$)/.test(config.config?.User ?? '') ? ', UID 0 in the image\'s /etc/passwd' : ''})`);
  else if (shell.user.unresolved) out.push(`config User ${user} cannot be resolved: ${shell.user.unresolved} (a runtime refuses to start the container)`);
  return out;
}
