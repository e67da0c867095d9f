/**
 * Where distributions keep their CA trust store. The overlay writes into the layout it finds in the
 * base (or the Debian one when the base has no bundle).
 *
 * | layout | bundle (searched in this order)                                   | hashed CApath   | anchors folder                        |
 * |--------|--------------------------------------------------------------------|-----------------|---------------------------------------|
 * | debian | /etc/ssl/certs/ca-certificates.crt (Debian, Ubuntu, distroless)    | /etc/ssl/certs  | /usr/local/share/ca-certificates/*.crt |
 * | alpine | same bundle; /etc/ssl/cert.pem (usually a symlink to it) (Alpine, Wolfi, Chainguard) | /etc/ssl/certs | /usr/local/share/ca-certificates/*.crt |
 * | rhel   | /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem, /etc/pki/tls/certs/ca-bundle.crt (RHEL, Fedora, UBI, Amazon Linux) | /etc/pki/tls/certs | /etc/pki/ca-trust/source/anchors/*.pem |
 *
 * The anchors folder is what the distribution's own tool (update-ca-certificates, update-ca-trust) reads,
 * so a later rebuild of the store in a derived image keeps the CAs.
 */
export type TrustLayoutId = 'debian' | 'alpine' | 'rhel';

export interface TrustLayout {
  readonly id: TrustLayoutId;
  /** Bundle paths as users and programs name them, in search order. */
  readonly bundles: readonly string[];
  /** The folder OpenSSL's CApath lookup reads (`<hash>.N` files go here). */
  readonly certDir: string;
  /** Each CA as its own file, in the distribution's input folder. */
  readonly anchorsDir: string;
  readonly anchorExt: '.crt' | '.pem';
}

export const DEBIAN: TrustLayout = {
  id: 'debian',
  bundles: ['/etc/ssl/certs/ca-certificates.crt'],
  certDir: '/etc/ssl/certs',
  anchorsDir: '/usr/local/share/ca-certificates',
  anchorExt: '.crt',
};

export const ALPINE: TrustLayout = {
  id: 'alpine',
  bundles: ['/etc/ssl/certs/ca-certificates.crt', '/etc/ssl/cert.pem'],
  certDir: '/etc/ssl/certs',
  anchorsDir: '/usr/local/share/ca-certificates',
  anchorExt: '.crt',
};

export const RHEL: TrustLayout = {
  id: 'rhel',
  bundles: ['/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', '/etc/pki/tls/certs/ca-bundle.crt'],
  certDir: '/etc/pki/tls/certs',
  anchorsDir: '/etc/pki/ca-trust/source/anchors',
  anchorExt: '.pem',
};

export const LAYOUTS: readonly TrustLayout[] = [DEBIAN, RHEL, ALPINE];

/** Every bundle path with the layout it belongs to, in search order (Alpine's cert.pem last). */
export const BUNDLE_CANDIDATES: readonly { readonly path: string; readonly layout: TrustLayout }[] = [
  { path: '/etc/ssl/certs/ca-certificates.crt', layout: DEBIAN },
  { path: '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', layout: RHEL },
  { path: '/etc/pki/tls/certs/ca-bundle.crt', layout: RHEL },
  { path: '/etc/ssl/cert.pem', layout: ALPINE },
];

/** Environment variables `trust_env` may set, and what each points at. */
export const TRUST_ENV_VARS = {
  /** OpenSSL (curl, libpq, Python ssl, Ruby), Go's crypto/x509. */
  SSL_CERT_FILE: 'bundle',
  /** OpenSSL's CApath, Go's crypto/x509. */
  SSL_CERT_DIR: 'certDir',
  /** Node.js: added to its built-in store. */
  NODE_EXTRA_CA_CERTS: 'bundle',
  /** Python requests. */
  REQUESTS_CA_BUNDLE: 'bundle',
  /** curl. */
  CURL_CA_BUNDLE: 'bundle',
  /** libpq (sslmode=verify-ca / verify-full). */
  PGSSLROOTCERT: 'bundle',
} as const;

export type TrustEnvVar = keyof typeof TRUST_ENV_VARS;
export const TRUST_ENV_NAMES = Object.keys(TRUST_ENV_VARS) as TrustEnvVar[];
/** What `trust_env: true` sets. */
export const DEFAULT_TRUST_ENV: readonly TrustEnvVar[] = ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE'];
