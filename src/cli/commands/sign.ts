/**
 * `cleanimg-customize sign REF@sha256:<digest> --key cosign.key [--signature-format legacy|bundle|both] [--json]`
 *
 * Signs an image already in a registry (for example one published with `push --layout`), in the
 * formats cosign reads, without moving any tag. By digest only: a tag can move between the check
 * that decided to sign and the signature.
 */
import { Readable } from 'node:stream';
import { CleanimgError } from '../../errors';
import { parseReference, refName } from '../../oci/reference';
import { RegistryClient } from '../../oci/registry';
import { parseSignatureFormat } from '../../oci/signing/format';
import { EXIT, type Io } from '../output';
import { signatureSummary } from './build';
import { registryOptions, type RegistryFlags } from './registry-options';

export interface SignFlags extends RegistryFlags {
  key: string;
  signatureFormat?: string;
  json?: boolean;
}

export async function runSign(refText: string, f: SignFlags, io: Io): Promise<number> {
  const ref = parseReference(refText);
  if (!ref.digest) {
    throw new CleanimgError('sign needs a digest', [{ code: 'CLI026', path: 'REF', message: `${refText} names no digest`, fix: 'sign by digest: registry/repository@sha256:<hex> (build --json and push --json print it)' }]);
  }
  const format = parseSignatureFormat(f.signatureFormat);
  const { loadPrivateKeyFile } = await import('../../oci/signing/index.js');
  const key = await loadPrivateKeyFile(f.key, process.env.COSIGN_PASSWORD);
  const client = new RegistryClient(ref.registry, await registryOptions(f));
  try {
    const subject = await client.headManifest(ref.repository, ref.digest);
    if (!subject) {
      throw new CleanimgError('no such image', [{ code: 'SIG015', path: refText, message: `${ref.registry} has no manifest ${ref.digest} in ${ref.repository}`, fix: 'push the image first, or correct the digest' }]);
    }
    const { signAndAttach } = await import('../../oci/signing/attach.js');
    const pushed: string[] = [];
    const signed = await signAndAttach(client, ref.repository, subject, {
      key, repository: refName(ref), format,
      pushBlob: async (what, b) => {
        const outcome = await client.pushBlob(ref.repository, b.descriptor, () => Readable.from([b.bytes]));
        pushed.push(`${what} ${b.descriptor.digest} ${outcome}`);
      },
    });
    const image = `${refName(ref)}@${ref.digest}`;
    if (f.json) io.out(JSON.stringify({ ok: true, image, format, signature: signed.legacy ?? null, bundleSignature: signed.bundle ?? null, blobs: pushed }, null, 2));
    else {
      io.err(`signed as ${signatureSummary({ ...(signed.legacy ? { signature: signed.legacy } : {}), ...(signed.bundle ? { bundleSignature: signed.bundle } : {}) })}`);
      io.out(image);
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
