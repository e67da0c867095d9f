/** The signature formats `build --sign-key` and `sign` attach (see attach.ts); no heavy imports, so flags are checked first. */
import { CleanimgError } from '../../errors';

export const SIGNATURE_FORMATS = ['legacy', 'bundle', 'both'] as const;
export type SignatureFormat = (typeof SIGNATURE_FORMATS)[number];
/**
 * legacy: every verifier reads the `.sig` tag (cosign v2, cosign v3 without flags, the admission
 * verifiers). Attaching a bundle changes what some of them do: cosign v2.6 turns to the bundle as soon
 * as one is there and then needs a Sigstore trusted root (from TUF, so online, or `--trusted-root`),
 * which an air-gapped cluster may not have. `bundle` and `both` are for those who want them.
 */
export const DEFAULT_SIGNATURE_FORMAT: SignatureFormat = 'legacy';

/** Reads `--signature-format`: legacy, bundle or both (SIG014 otherwise). */
export function parseSignatureFormat(v: string | undefined, field = '--signature-format'): SignatureFormat {
  if (v === undefined) return DEFAULT_SIGNATURE_FORMAT;
  if ((SIGNATURE_FORMATS as readonly string[]).includes(v)) return v as SignatureFormat;
  throw new CleanimgError(`unknown signature format "${v}"`, [{
    code: 'SIG014', path: field, message: `"${v}" is not a signature format`,
    fix: "use legacy (the .sig tag), bundle (a Sigstore bundle referrer, cosign v3's default) or both",
  }]);
}
