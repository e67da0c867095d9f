/**
 * `cleanimg-customize verify REF [--key cosign.pub] [--trusts CERT] [--json]`
 * `cleanimg-customize verify --layout DIR[:TAG] [--trusts CERT] [--json]`
 *
 * Exit codes: 0 every check passed; 1 a check failed (no valid signature, a shell, root, or — with
 * --trusts — the image does not trust the certificate's issuer); 2 bad input or an operational error.
 */
import { readFile } from 'node:fs/promises';
import type { X509Certificate } from 'node:crypto';
import { CleanimgError } from '../../errors';
import { inspectionFailures, verifyPushed } from '../../customize/verify';
import { describeTrustVerify, parseCertificateFile, verifyTrust, type TrustVerifyResult } from '../../customize/trust/verify';
import { checkShellFree, type ShellCheckResult } from '../../oci/inspect';
import { LayoutImageSource } from '../../oci/layout';
import { isIndexMediaType, selectPlatform } from '../../oci/platform';
import { parseReference } from '../../oci/reference';
import { RegistryClient, RegistryImageSource } from '../../oci/registry';
import type { AttestationCheck } from '../../oci/signing/attest';
import { describeVerifyResult, loadPublicKeyFile, type VerifyResult } from '../../oci/signing';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../oci/types';
import { EXIT, type Io } from '../output';
import { splitLayoutArg } from './base';
import { registryOptions, type RegistryFlags } from './registry-options';

export interface VerifyFlags extends RegistryFlags {
  key?: string;
  json?: boolean;
  arch?: string;
  /** A PEM server certificate (optionally followed by intermediates) the image must trust. */
  trusts?: string;
  /** Read the image from an OCI layout (`DIR[:TAG]`) instead of a registry. */
  layout?: string;
  /** Also require the overlay's SBOM and provenance attestations, signed by --key. */
  attestations?: boolean;
}

async function readTrustsCert(file: string): Promise<X509Certificate[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new CleanimgError(`cannot read ${file}`, [{ code: 'TC008', path: '--trusts', message: `${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, fix: 'pass the path of a PEM server certificate' }]);
  }
  return parseCertificateFile(bytes, file);
}

interface Outcome {
  image: string;
  digest: string;
  platformDigest?: string;
  signature?: VerifyResult;
  attestations?: AttestationCheck[];
  shell: ShellCheckResult;
  trust?: TrustVerifyResult;
  failures: string[];
}

async function fromLayout(arg: string, f: VerifyFlags, certs: X509Certificate[] | undefined): Promise<Outcome> {
  const { dir, ref } = splitLayoutArg(arg);
  const source = await LayoutImageSource.open(dir);
  const top = await source.getManifest(ref);
  let bytes = top.bytes;
  let platformDigest: string | undefined;
  if (isIndexMediaType(top.mediaType)) {
    const choice = selectPlatform(JSON.parse(top.bytes.toString('utf8')) as ImageIndex, { architecture: f.arch ?? 'amd64', os: 'linux' }, `oci:${dir}:${ref}`);
    platformDigest = choice.descriptor.digest;
    bytes = (await source.getManifest(platformDigest)).bytes;
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new CleanimgError(`oci:${dir}:${ref} is not an image`, [{ code: 'VERIFY001', path: '--layout', message: 'the manifest has no config or layers', fix: 'name an image manifest or index in the layout' }]);
  }
  const config = JSON.parse((await source.getBlob(manifest.config.digest)).toString('utf8')) as ImageConfig;
  const open = (d: { digest: string }) => source.openBlob(d.digest);
  const shell = await checkShellFree({ layers: manifest.layers, config }, open);
  const trust = certs ? await verifyTrust({ layers: manifest.layers, open, config, certs }) : undefined;
  const failures: string[] = [];
  failures.push(...inspectionFailures(shell, config));
  if (trust) failures.push(...trust.failures);
  return { image: `oci:${dir}:${ref}@${top.digest}`, digest: top.digest, ...(platformDigest ? { platformDigest } : {}), shell, ...(trust ? { trust } : {}), failures };
}

async function fromRegistry(refText: string, f: VerifyFlags, certs: X509Certificate[] | undefined): Promise<Outcome> {
  const ref = parseReference(refText);
  const publicKey = f.key ? await loadPublicKeyFile(f.key) : undefined;
  const client = new RegistryClient(ref.registry, await registryOptions(f));
  try {
    const r = await verifyPushed({ client, ref, ...(publicKey ? { publicKey } : {}), ...(f.arch ? { arch: f.arch } : {}) });
    let attestations: AttestationCheck[] | undefined;
    if (f.attestations && publicKey) {
      const [{ verifyAttestations }, { CYCLONEDX_PREDICATE_TYPE, SLSA_PROVENANCE_V1 }] = await Promise.all([import('../../oci/signing/attest.js'), import('../../customize/attestations.js')]);
      attestations = await verifyAttestations(new RegistryImageSource(client, ref.repository), r.platformDigest ?? r.digest, publicKey, [CYCLONEDX_PREDICATE_TYPE, SLSA_PROVENANCE_V1]);
    }
    const attestationFailures = (attestations ?? []).filter((a) => !a.verified).map((a) => `no attestation ${a.predicateType} signed by the key (${a.reasons.join('; ') || 'none found'})`);
    let trust: TrustVerifyResult | undefined;
    if (certs) {
      const manifest = JSON.parse((await client.getManifest(ref.repository, r.platformDigest ?? r.digest)).bytes.toString('utf8')) as ImageManifest;
      const config = JSON.parse((await client.getBlob(ref.repository, manifest.config.digest)).toString('utf8')) as ImageConfig;
      trust = await verifyTrust({ layers: manifest.layers, open: (d) => client.getBlobStream(ref.repository, d.digest, d.size), config, certs });
    }
    return {
      image: r.image,
      digest: r.digest,
      ...(r.platformDigest ? { platformDigest: r.platformDigest } : {}),
      ...(r.signature ? { signature: r.signature } : {}),
      shell: r.shell,
      ...(trust ? { trust } : {}),
      ...(attestations ? { attestations } : {}),
      failures: [...r.failures, ...attestationFailures, ...(trust?.failures ?? [])],
    };
  } finally {
    await client.close();
  }
}

export async function runVerify(refText: string | undefined, f: VerifyFlags, io: Io): Promise<number> {
  if (!refText && !f.layout) {
    throw new CleanimgError('nothing to verify', [{ code: 'CLI022', path: 'REF', message: 'give an image reference, or --layout DIR[:TAG]', fix: 'cleanimg-customize verify registry.example.com/app:1 (or --layout dist/images/app:custom)' }]);
  }
  if (refText && f.layout) {
    throw new CleanimgError('two images to verify', [{ code: 'CLI022', path: '--layout', message: `both ${refText} and --layout ${f.layout} were given`, fix: 'verify one image at a time' }]);
  }
  if (f.attestations && !f.key) {
    throw new CleanimgError('--attestations needs --key', [{ code: 'CLI028', path: '--attestations', message: 'attestations are checked against the public key that signed them', fix: 'add --key cosign.pub' }]);
  }
  if (f.layout && f.key) {
    throw new CleanimgError('--key needs a registry image', [{ code: 'CLI023', path: '--key', message: 'signatures are stored next to the image in its registry, not in an OCI layout', fix: 'verify the pushed image (REF) with --key, or drop --key for the layout' }]);
  }
  // Every input is read before the image is.
  const certs = f.trusts ? await readTrustsCert(f.trusts) : undefined;
  const r = f.layout ? await fromLayout(f.layout, f, certs) : await fromRegistry(refText!, f, certs);
  const ok = r.failures.length === 0;
  if (f.json) {
    io.out(JSON.stringify({
      ok, image: r.image, digest: r.digest, platformDigest: r.platformDigest ?? null, failures: r.failures,
      signature: r.signature ? { verified: r.signature.verified, valid: r.signature.valid.length, lines: describeVerifyResult(r.signature) } : null,
      shellFree: r.shell.shellFree, shells: r.shell.findings, user: r.shell.user, special: r.shell.special, layers: r.shell.layers,
      trust: r.trust ?? null,
      attestations: r.attestations ?? null,
    }, null, 2));
  } else {
    io.out(r.image);
    if (r.signature) for (const line of describeVerifyResult(r.signature)) io.out(`  signature ${line}`);
    else io.out(f.layout ? '  signature: not checked (an OCI layout holds no signature)' : '  signature: not checked (pass --key cosign.pub)');
    io.out(`  shell: ${r.shell.shellFree ? `none in ${r.shell.layers} layers (${r.shell.entries} entries)` : 'FOUND'}`);
    io.out(`  user: ${JSON.stringify(r.shell.user.user)}${r.shell.user.uid !== undefined ? ` (UID ${r.shell.user.uid}${r.shell.user.isRoot ? ': root' : ''})` : r.shell.user.isRoot ? ' (root)' : ''}`);
    // Not failures (a hardened pod runs with no_new_privs and a read-only root), but worth knowing.
    for (const a of r.attestations ?? []) io.out(`  attestation ${a.predicateType}: ${a.verified ? `valid (${a.formats.join(', ')})` : 'MISSING'}`);
    for (const e of r.shell.special) io.out(`  note: ${e.what} ${e.path} (layer ${e.layer + 1}${e.replaces !== undefined ? `, over layer ${e.replaces + 1}'s` : ''})`);
    if (r.trust) for (const line of describeTrustVerify(r.trust)) io.out(line);
    for (const f2 of r.failures) io.out(`  FAIL ${f2}`);
    io.out(ok ? 'verified' : 'NOT verified');
  }
  return ok ? EXIT.ok : EXIT.findings;
}
