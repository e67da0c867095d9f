/** `cleanimg-customize verify REF [--key cosign.pub] [--json]` */
import { verifyPushed } from '../../customize/verify';
import { parseReference } from '../../oci/reference';
import { RegistryClient } from '../../oci/registry';
import { describeVerifyResult, loadPublicKeyFile } from '../../oci/signing';
import { EXIT, type Io } from '../output';
import { registryOptions, type RegistryFlags } from './registry-options';

export interface VerifyFlags extends RegistryFlags {
  key?: string;
  json?: boolean;
  arch?: string;
}

export async function runVerify(refText: string, f: VerifyFlags, io: Io): Promise<number> {
  const ref = parseReference(refText);
  const publicKey = f.key ? await loadPublicKeyFile(f.key) : undefined;
  const client = new RegistryClient(ref.registry, await registryOptions(f));
  try {
    const r = await verifyPushed({ client, ref, ...(publicKey ? { publicKey } : {}), ...(f.arch ? { arch: f.arch } : {}) });
    if (f.json) {
      io.out(JSON.stringify({
        ok: r.ok, image: r.image, digest: r.digest, platformDigest: r.platformDigest ?? null, failures: r.failures,
        signature: r.signature ? { verified: r.signature.verified, valid: r.signature.valid.length, lines: describeVerifyResult(r.signature) } : null,
        shellFree: r.shell.shellFree, shells: r.shell.findings, user: r.shell.user, layers: r.shell.layers,
      }, null, 2));
    } else {
      io.out(r.image);
      if (r.signature) for (const line of describeVerifyResult(r.signature)) io.out(`  signature ${line}`);
      else io.out('  signature: not checked (pass --key cosign.pub)');
      io.out(`  shell: ${r.shell.shellFree ? `none in ${r.shell.layers} layers (${r.shell.entries} entries)` : 'FOUND'}`);
      io.out(`  user: ${JSON.stringify(r.shell.user.user)}${r.shell.user.isRoot ? ' (root)' : ''}`);
      for (const f2 of r.failures) io.out(`  FAIL ${f2}`);
      io.out(r.ok ? 'verified' : 'NOT verified');
    }
    return r.ok ? EXIT.ok : EXIT.findings;
  } finally {
    await client.close();
  }
}
