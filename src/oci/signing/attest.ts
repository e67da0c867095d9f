/**
 * Attestations (in-toto statements, e.g. an SBOM and a provenance statement) signed with the image's
 * key and attached as Sigstore bundles, the way `cosign attest` does in its bundle format: one OCI
 * referrer per statement, its predicate type in the `dev.sigstore.bundle.predicateType` annotation,
 * through the referrers API or the fallback tag (attach.ts). An attestation of the same predicate
 * type that this key already made for the image is not added again.
 */
import type * as crypto from 'node:crypto';
import type { RegistryClient } from '../registry/client';
import { RegistryImageSource } from '../registry/source';
import type { Descriptor, ImageSource } from '../types';
import { attachReferrer, type AttachedSignatures } from './attach';
import { verifyImageBundles } from './bundle';
import { bundleReferrer, dsseBundle } from './bundle-sign';
import type { Blob } from './cosign';
import type { SigningKey } from './keys';

export interface StatementToAttach {
  readonly predicateType: string;
  readonly statement: Buffer;
}

export type AttachedAttestation = { readonly predicateType: string } & NonNullable<AttachedSignatures['bundle']>;

export async function attachAttestations(
  client: RegistryClient,
  repo: string,
  subject: Descriptor,
  statements: readonly StatementToAttach[],
  opts: { readonly key: SigningKey; readonly pushBlob: (what: string, blob: Blob) => Promise<void> },
): Promise<AttachedAttestation[]> {
  const source = new RegistryImageSource(client, repo);
  const via = (await source.referrers(subject.digest)) ? 'referrers-api' as const : 'fallback-tag' as const;
  const out: AttachedAttestation[] = [];
  for (const s of statements) {
    const existing = await verifyImageBundles(source, subject.digest, opts.key.publicKey, undefined, s.predicateType);
    if (existing.valid.length > 0) {
      out.push({ predicateType: s.predicateType, appended: false, via });
      continue;
    }
    const referrer = bundleReferrer(dsseBundle(s.statement, opts.key), subject, s.predicateType);
    out.push({ predicateType: s.predicateType, ...(await attachReferrer(client, repo, subject, referrer, (b) => opts.pushBlob(`attestation ${s.predicateType}`, b))) });
  }
  return out;
}

export interface AttestationCheck {
  readonly predicateType: string;
  readonly verified: boolean;
  /** Why not, when not verified. */
  readonly reasons: readonly string[];
}

/** For each predicate type: is there an attestation of the image signed by `publicKey`? */
export async function verifyAttestations(source: ImageSource, imageDigest: string, publicKey: crypto.KeyObject, predicateTypes: readonly string[]): Promise<AttestationCheck[]> {
  const out: AttestationCheck[] = [];
  for (const predicateType of predicateTypes) {
    const r = await verifyImageBundles(source, imageDigest, publicKey, undefined, predicateType);
    out.push({ predicateType, verified: r.valid.length > 0, reasons: r.valid.length ? [] : r.rejected.map((x) => `${x.reason}: ${x.message}`) });
  }
  return out;
}
