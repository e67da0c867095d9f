/**
 * Admission-time signature checks for a hardened namespace, generated from the public key that signs
 * its images: a sigstore policy-controller `ClusterImagePolicy` and a Kyverno `ClusterPolicy` with
 * `verifyImages`. Plain objects out (no framework imports), so both faces only translate.
 *
 * What each verifier reads (checked in their sources, policy-controller v0.13.1 and Kyverno v1.19.1):
 * - policy-controller reads the bundle format only for keyless authorities ("when using the new
 *   bundle format, the authority must be keyless"): with a key it reads the legacy format.
 * - Kyverno's `ClusterPolicy` `verifyImages` reads the legacy format; only its newer
 *   `ImageValidatingPolicy` detects bundles, and that kind is not generated here.
 * So images must carry legacy signatures (`--signature-format legacy` or `both`); `bundle` is refused
 * with NS021 rather than generating a policy that refuses every image.
 *
 * ImageScope: Kyverno matches Pods of this namespace, so by default every image there must be signed.
 * policy-controller's policies are cluster-wide and apply in namespaces labelled
 * `policy.sigstore.dev/include: "true"` (set here), to the images their globs name: by default the
 * repositories of the namespace's workloads and the `allowedRegistries` prefixes. An image no policy
 * names is governed by policy-controller's `no-match-policy` (its own ConfigMap; `warn` as shipped,
 * set it to `deny`).
 */
import * as crypto from 'node:crypto';
import type { Problem } from '../errors';
import type { KubeObject } from '../rules';

export type SignatureVerifier = 'policy-controller' | 'kyverno';

export const SIGNATURE_VERIFIERS: readonly SignatureVerifier[] = ['policy-controller', 'kyverno'];

/** The namespace label that makes policy-controller check the namespace's pods. */
export const POLICY_CONTROLLER_INCLUDE_LABEL = 'policy.sigstore.dev/include';

export interface ImageSignaturePolicy {
  /**
   * The public key the images are signed with: PEM SPKI (`-----BEGIN PUBLIC KEY-----`, as in
   * cosign.pub or printed by `cosign public-key`), ECDSA P-256 as cleanimg and cosign sign by
   * default. A private key, a certificate or anything besides the one PEM block is refused.
   */
  readonly publicKey: string;
  /** The admission verifiers to write a policy for. @default ['policy-controller', 'kyverno'] */
  readonly verifiers?: readonly SignatureVerifier[];
  /**
   * How the images are signed (`--signature-format` of `build` and `sign`). Both verifiers read
   * legacy signatures with a key; `bundle` alone is refused (NS021). One of 'legacy', 'bundle', 'both'.
   * @default 'legacy'
   */
  readonly signatureFormat?: 'legacy' | 'bundle' | 'both';
  /**
   * The images that must carry the signature: repositories (`registry.example.com/team/app`) or
   * prefixes ending in `/` (`registry.example.com/team/`), with the registry host. No tag, digest
   * or wildcard. @default Kyverno: every image of the namespace's pods; policy-controller: the
   * repositories of the namespace's workloads and the `allowedRegistries` prefixes
   */
  readonly images?: readonly string[];
}

/** One image scope: an exact repository, or every repository under a prefix. */
export type ImageScope = { readonly repository: string } | { readonly prefix: string };

export interface ImageSignatureObjects {
  /** Present when policy-controller is a verifier and some image is in scope. */
  readonly clusterImagePolicy?: KubeObject;
  /** Present when Kyverno is a verifier. */
  readonly kyvernoPolicy?: KubeObject;
  /** Labels the Namespace needs (policy-controller's include label). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
}

const PROP_KEYS = ['publicKey', 'verifiers', 'signatureFormat', 'images'];
const FORMATS = ['legacy', 'bundle', 'both'];
/** A host (with a dot or port, or localhost) then path components, in plain ASCII: as registries spell repositories. */
const REPOSITORY = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9-]+(\.[a-z0-9-]+)*:[0-9]{1,5})(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/;
const HOST_PREFIX = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9-]+(\.[a-z0-9-]+)*:[0-9]{1,5})(\/[a-z0-9]+([._-][a-z0-9]+)*)*\/$/;

/** The name of the signature policies for a namespace (cluster-scoped, so the name carries the namespace). */
export function signaturePolicyNameFor(namespace: string): string {
  return `cleanimg-signatures.${namespace}`;
}

/** The key as canonical PEM, or NS019 problems. The output is re-encoded from the parsed key, never the caller's text. */
function canonicalPublicKey(pem: unknown, at: string, problems: Problem[]): string | undefined {
  const bad = (message: string, fix: string) => { problems.push({ code: 'NS019', path: at, message, fix }); return undefined; };
  const toPub = 'give the public half: `cosign public-key --key cosign.key` or the cosign.pub file';
  if (typeof pem !== 'string') return bad('the public key must be a PEM string', toPub);
  // Never echo the text: it may be a private key passed by mistake.
  if (/PRIVATE KEY-----/.test(pem)) return bad('this is a private key: it would be written into a cluster-wide policy that anyone can read', `${toPub}, and treat the private key as leaked if it was committed`);
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
  if (blocks.length !== 1 || blocks[0] !== 'PUBLIC KEY')
    return bad(blocks.length ? `expected one PUBLIC KEY PEM block, found ${blocks.join(', ')}` : 'no PEM block found', toPub);
  const m = /^\s*-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/.exec(pem);
  if (!m) return bad('the PEM block has headers or text around it', toPub);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch {
    return bad('the PUBLIC KEY block is not a valid SPKI key', toPub);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    return bad(`a ${key.asymmetricKeyType === 'ec' ? `key on curve ${key.asymmetricKeyDetails?.namedCurve}` : `${key.asymmetricKeyType} key`}; the policies are written for ECDSA P-256 with SHA-256, as cleanimg and cosign sign by default`, 'sign with a P-256 key: `cleanimg-customize generate-key-pair` or `cosign generate-key-pair`');
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function parseScopes(images: unknown, at: string, problems: Problem[]): ImageScope[] {
  if (!Array.isArray(images) || images.length === 0) {
    problems.push({ code: 'NS020', path: at, message: 'images must be a non-empty list', fix: 'list repositories (registry.example.com/team/app) or prefixes ending in / , or leave images out' });
    return [];
  }
  return images.flatMap((s: unknown, i): ImageScope[] => {
    if (typeof s === 'string' && REPOSITORY.test(s)) return [{ repository: s }];
    if (typeof s === 'string' && HOST_PREFIX.test(s)) return [{ prefix: s }];
    const why = typeof s !== 'string' ? 'is not a string'
      : /[@]|:[^/]*$/.test(s.replace(/^[^/]*\//, '/')) ? 'names a tag or digest: the policy must cover the repository, whatever the digest'
        : /[*?[\]]/.test(s) ? 'has a wildcard: the two verifiers read wildcards differently'
          : !s.includes('/') || !/^(localhost|[^/]*[.:][^/]*)\//.test(s) ? 'has no registry host: verifiers expand short names differently (index.docker.io/library/...)'
            : 'is not a repository or a prefix in lower-case ASCII';
    problems.push({ code: 'NS020', path: `${at}[${i}]`, message: `${JSON.stringify(s)} ${why}`, fix: 'write registry.example.com/team/app (one repository) or registry.example.com/team/ (everything under it)' });
    return [];
  });
}

/** The repository of an image reference (`host/path@sha256:...` or `host/path:tag`). */
function repositoryOf(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The scopes to use when `images` is left out: the workloads' repositories and the allowed registries. */
export function defaultScopes(workloadImages: readonly string[], allowedRegistries: readonly string[] = []): ImageScope[] {
  const out: ImageScope[] = [];
  const seen = new Set<string>();
  const add = (s: ImageScope) => {
    const k = 'prefix' in s ? `p:${s.prefix}` : `r:${s.repository}`;
    if (!seen.has(k)) { seen.add(k); out.push(s); }
  };
  for (const r of allowedRegistries) add({ prefix: r.includes('/') ? r : `${r}/` });
  for (const i of workloadImages) add({ repository: repositoryOf(i) });
  return out;
}

const policyControllerGlobs = (s: ImageScope) => ('prefix' in s ? [`${s.prefix}**`] : [`${s.repository}@**`, `${s.repository}:**`]);
const kyvernoReferences = (s: ImageScope) => ('prefix' in s ? [`${s.prefix}*`] : [`${s.repository}@*`, `${s.repository}:*`]);

/** The `imageSignatures` prop as checked: its problems, and the parts the policies are written from. */
export interface CheckedImageSignatures {
  readonly problems: Problem[];
  /** The key, re-encoded as PEM; absent when it was refused. */
  readonly key?: string;
  readonly verifiers: SignatureVerifier[];
  /** The `images` scopes; absent when left out (the defaults apply). */
  readonly scopes?: ImageScope[];
}

/** PROP001, NS019, NS020, NS021 for the `imageSignatures` prop; the parsed parts when it is valid. */
export function checkImageSignatures(input: unknown, at = 'imageSignatures'): CheckedImageSignatures {
  const problems: Problem[] = [];
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    problems.push({ code: 'NS019', path: at, message: 'imageSignatures must be an object with publicKey', fix: 'write imageSignatures: { publicKey: <the contents of cosign.pub> }' });
    return { problems, verifiers: [] };
  }
  const o = input as ImageSignaturePolicy;
  for (const k of Reflect.ownKeys(o))
    if (typeof k !== 'string' || !PROP_KEYS.includes(k))
      problems.push({ code: 'PROP001', path: `${at}.${String(k)}`, message: `"${String(k)}" is not a known prop`, fix: 'remove it or correct its spelling' });
  const key = canonicalPublicKey(o.publicKey, `${at}.publicKey`, problems);
  const verifiers = o.verifiers ?? SIGNATURE_VERIFIERS;
  if (!Array.isArray(verifiers) || verifiers.length === 0 || verifiers.some((v) => !SIGNATURE_VERIFIERS.includes(v)) || new Set(verifiers).size !== verifiers.length)
    problems.push({ code: 'NS021', path: `${at}.verifiers`, message: `${JSON.stringify(verifiers)} is not a list of verifiers`, fix: `name each once, from ${SIGNATURE_VERIFIERS.join(', ')}; or leave verifiers out for both` });
  const format = o.signatureFormat ?? 'legacy';
  if (!FORMATS.includes(format))
    problems.push({ code: 'NS021', path: `${at}.signatureFormat`, message: `${JSON.stringify(format)} is not a signature format`, fix: 'use legacy, both or bundle' });
  else if (format === 'bundle')
    problems.push({ code: 'NS021', path: `${at}.signatureFormat`, message: 'neither verifier reads the bundle format with a key (policy-controller v0.13 reads bundles only for keyless authorities; Kyverno\'s ClusterPolicy verifyImages reads legacy signatures only), so every image would be refused', fix: 'sign with --signature-format both (or legacy) and set signatureFormat accordingly' });
  const scopes = o.images === undefined ? undefined : parseScopes(o.images, `${at}.images`, problems);
  return { problems, ...(key ? { key } : {}), verifiers: Array.isArray(verifiers) ? [...verifiers] : [], ...(scopes ? { scopes } : {}) };
}

/**
 * The signature policies for `namespace`, from a {@link checkImageSignatures} result without
 * problems; `fallbackScopes` are used when `images` was left out.
 */
export function imageSignatureObjects(namespace: string, checked: CheckedImageSignatures, fallbackScopes: readonly ImageScope[]): ImageSignatureObjects {
  const key = checked.key;
  if (checked.problems.length || !key) throw new Error('internal: imageSignatureObjects called with refused props');
  const scopes = checked.scopes ?? fallbackScopes;
  const name = signaturePolicyNameFor(namespace);
  const labels = { 'app.kubernetes.io/managed-by': 'cleanimg' };
  const pc = checked.verifiers.includes('policy-controller');
  const clusterImagePolicy: KubeObject | undefined = pc && scopes.length ? {
    apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy',
    metadata: { name, labels: { ...labels }, annotations: { 'cleanimg.dev/namespace': namespace } },
    spec: {
      images: [...new Set(scopes.flatMap(policyControllerGlobs))].map((glob) => ({ glob })),
      // A key and no ctlog: the signature is checked offline against the key, no transparency log.
      authorities: [{ name: 'cleanimg-key', key: { data: key, hashAlgorithm: 'sha256' } }],
      mode: 'enforce',
    },
  } : undefined;
  const kyvernoPolicy: KubeObject | undefined = checked.verifiers.includes('kyverno') ? {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy',
    metadata: { name, labels: { ...labels }, annotations: { 'policies.kyverno.io/title': `Images in ${namespace} are signed with the cleanimg key` } },
    spec: {
      background: false,
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: 30,
      rules: [{
        name: 'signed-images',
        match: { any: [{ resources: { kinds: ['Pod'], namespaces: [namespace] } }] },
        verifyImages: [{
          imageReferences: checked.scopes ? [...new Set(scopes.flatMap(kyvernoReferences))] : ['*'],
          failureAction: 'Enforce',
          type: 'Cosign',
          required: true,
          verifyDigest: true,
          mutateDigest: false,
          attestors: [{ count: 1, entries: [{ keys: { publicKeys: key, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } }, signatureAlgorithm: 'sha256' }] }],
        }],
      }],
    },
  } : undefined;
  return {
    ...(clusterImagePolicy ? { clusterImagePolicy } : {}),
    ...(kyvernoPolicy ? { kyvernoPolicy } : {}),
    namespaceLabels: pc ? { [POLICY_CONTROLLER_INCLUDE_LABEL]: 'true' } : {},
  };
}
