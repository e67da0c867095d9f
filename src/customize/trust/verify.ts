/**
 * `verify --trusts CERT`: does an image trust the CA that issued CERT? The image's layers are read
 * (streamed; every layer, since this is a verification of the final filesystem, whiteouts and symlinks
 * applied), keeping the contents of the trust store's files. Then CERT (a server certificate, optionally
 * followed by its intermediates in the same PEM file) is verified the way OpenSSL finds issuers:
 *
 * - against each CA bundle the image has (the known layouts' bundle paths, and the files that
 *   SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, PGSSLROOTCERT in the image
 *   config name), like `openssl verify -CAfile`;
 * - against each hashed CApath folder (`/etc/ssl/certs`, `/etc/pki/tls/certs`, SSL_CERT_DIR) that holds
 *   `<hash>.N` names, looking up `<issuer-hash>.0, .1, ...` like `openssl verify -CApath`.
 *
 * A step of the chain holds when the issuer's name matches (X509Certificate.checkIssued) and the
 * signature verifies with the issuer's public key (X509Certificate.verify); intermediates must be CAs,
 * and every certificate must be valid at `now`. The image trusts CERT when it has at least one bundle
 * and every bundle and every hashed folder found leads CERT to a trust anchor.
 */
import { X509Certificate } from 'node:crypto';
import { CleanimgError } from '../../errors';
import type { Descriptor, ImageConfig } from '../../oci/types';
import { BUNDLE_CANDIDATES, TRUST_ENV_VARS } from './layouts';
import { scanLayer, type OpenLayerStream, type ScannedEntry } from './layer-scan';
import { describeSubject, issuerHash, pemCertificates } from './x509';

const STORE_PREFIXES = ['/etc/ssl/', '/etc/pki/', '/usr/share/ca-certificates/', '/usr/local/share/ca-certificates/', '/usr/lib/ssl/', '/etc/ca-certificates/'];
const HASH_DIRS = ['/etc/ssl/certs', '/etc/pki/tls/certs'];
const HASH_NAME_RE = /^[0-9a-f]{8}\.[0-9]+$/;

export interface StoreCheck {
  /** `bundle` (a CAfile) or `hashdir` (a CApath). */
  readonly kind: 'bundle' | 'hashdir';
  /** The path as named (candidate or env value). */
  readonly path: string;
  /** Symlinks resolved. */
  readonly realPath: string;
  /** Why it was checked: a known layout, or the env variable naming it. */
  readonly source: string;
  /** Certificates in the bundle, or hashed names in the folder. */
  readonly count: number;
  readonly trusted: boolean;
  /** The chain found, leaf first (subjects), when trusted. */
  readonly chain?: readonly string[];
  readonly reason?: string;
}

export interface TrustVerifyResult {
  readonly certificate: { readonly subject: string; readonly issuer: string; readonly intermediates: number };
  readonly stores: readonly StoreCheck[];
  readonly trusted: boolean;
  readonly failures: readonly string[];
  readonly layersRead: number;
}

interface Node {
  readonly entry: ScannedEntry;
}

/** The final filesystem (headers, and contents of trust store files), whiteouts applied. */
class FlatFs {
  readonly nodes = new Map<string, Node>();

  private removeUnder(p: string, self: boolean): void {
    if (self) this.nodes.delete(p);
    const prefix = p === '/' ? '/' : `${p}/`;
    for (const k of [...this.nodes.keys()]) if (k.startsWith(prefix)) this.nodes.delete(k);
  }

  apply(L: { entries: Map<string, ScannedEntry>; whiteouts: Set<string>; opaque: Set<string> }): void {
    for (const d of L.opaque) this.removeUnder(d, false);
    for (const w of L.whiteouts) this.removeUnder(w, true);
    for (const [p, e] of L.entries) {
      const have = this.nodes.get(p);
      if (have && have.entry.type === 'dir' && e.type !== 'dir') this.removeUnder(p, false);
      this.nodes.set(p, { entry: e });
    }
  }

  /** Follow symlinks in every component; undefined when missing or looping. */
  resolve(p: string): { path: string; entry?: ScannedEntry } | undefined {
    const pending = p.split('/').filter(Boolean);
    const stack: string[] = [];
    for (let hops = 0; pending.length; ) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        stack.pop();
        continue;
      }
      const cur = `/${[...stack, part].join('/')}`;
      const n = this.nodes.get(cur);
      if (n?.entry.type === 'symlink') {
        if (++hops > 40) return undefined;
        const t = n.entry.linkname ?? '';
        if (t.startsWith('/')) stack.length = 0;
        pending.unshift(...t.split('/').filter(Boolean));
        continue;
      }
      if (n?.entry.type === 'link' && pending.length === 0) {
        return this.resolve(n.entry.linkname ?? cur);
      }
      if (!n && pending.length) {
        // A folder implied by deeper entries (no header of its own) is fine; anything missing is not.
        const prefix = `${cur}/`;
        let implied = false;
        for (const k of this.nodes.keys()) if (k.startsWith(prefix)) { implied = true; break; }
        if (!implied) return undefined;
      }
      stack.push(part);
    }
    const real = `/${stack.join('/')}`;
    const n = this.nodes.get(real);
    return n ? { path: real, entry: n.entry } : { path: real };
  }

  /** Names directly in folder `dir` (after resolving it). */
  list(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const out: string[] = [];
    for (const k of this.nodes.keys()) if (k.startsWith(prefix) && !k.slice(prefix.length).includes('/')) out.push(k.slice(prefix.length));
    return out.sort();
  }
}

function certsOf(content: Buffer | undefined): X509Certificate[] {
  if (!content) return [];
  const out: X509Certificate[] = [];
  for (const der of pemCertificates(content.toString('latin1'))) {
    try {
      out.push(new X509Certificate(der));
    } catch {
      /* a broken entry in a bundle is skipped, as OpenSSL does */
    }
  }
  return out;
}

function validAt(c: X509Certificate, now: Date): string | undefined {
  if (new Date(c.validTo).getTime() < now.getTime()) return `${describeSubject(c)} expired on ${new Date(c.validTo).toISOString()}`;
  if (new Date(c.validFrom).getTime() > now.getTime()) return `${describeSubject(c)} is not valid before ${new Date(c.validFrom).toISOString()}`;
  return undefined;
}

/** Find a path from `cert` to an anchor returned by `anchorsFor`, through `intermediates`. */
export function buildChain(
  cert: X509Certificate,
  anchorsFor: (c: X509Certificate) => readonly X509Certificate[],
  intermediates: readonly X509Certificate[],
  now: Date,
  depth = 0,
): { ok: true; chain: X509Certificate[] } | { ok: false; reason: string } {
  const invalid = validAt(cert, now);
  if (invalid) return { ok: false, reason: invalid };
  let reason = `no trusted certificate issued ${describeSubject(cert)} (issuer ${cert.issuer.split('\n').filter(Boolean).join(', ')})`;
  for (const a of anchorsFor(cert)) {
    if (!cert.checkIssued(a)) continue;
    if (!cert.verify(a.publicKey)) {
      reason = `${describeSubject(a)} has the issuer's name but did not sign ${describeSubject(cert)}`;
      continue;
    }
    const bad = validAt(a, now);
    if (bad) {
      reason = bad;
      continue;
    }
    return { ok: true, chain: [cert, a] };
  }
  if (depth < 8) {
    for (const i of intermediates) {
      if (i === cert || !i.ca || !cert.checkIssued(i) || !cert.verify(i.publicKey)) continue;
      const up = buildChain(i, anchorsFor, intermediates.filter((x) => x !== i), now, depth + 1);
      if (up.ok) return { ok: true, chain: [cert, ...up.chain] };
      reason = up.reason;
    }
  }
  return { ok: false, reason };
}

/** Read the leaf (and intermediates) to verify from a PEM file's bytes. */
export function parseCertificateFile(bytes: Buffer, where: string): X509Certificate[] {
  const ders = pemCertificates(bytes.toString('latin1'));
  const certs: X509Certificate[] = [];
  try {
    for (const d of ders) certs.push(new X509Certificate(d));
  } catch (e) {
    throw new CleanimgError(`${where} is not a readable certificate`, [{ code: 'TC008', path: where, message: (e as Error).message, fix: 'pass the server certificate as PEM (e.g. openssl s_client -showcerts, or the file your server uses)' }]);
  }
  if (!certs.length) {
    throw new CleanimgError(`${where} holds no certificate`, [{ code: 'TC008', path: where, message: 'no PEM "CERTIFICATE" block', fix: 'pass the server certificate as PEM; put its intermediates after it in the same file' }]);
  }
  return certs;
}

/** Check that the image (its layers and config) trusts the issuer of `certs[0]`. */
export async function verifyTrust(opts: {
  readonly layers: readonly Descriptor[];
  readonly open: OpenLayerStream;
  readonly config: ImageConfig;
  readonly certs: readonly X509Certificate[];
  readonly now?: Date;
}): Promise<TrustVerifyResult> {
  const now = opts.now ?? new Date();
  const [leaf, ...intermediates] = opts.certs;
  if (!leaf) throw new CleanimgError('no certificate to verify', [{ code: 'TC008', path: '--trusts', message: 'no certificate given', fix: 'pass a PEM server certificate' }]);
  const env = new Map<string, string>();
  for (const e of opts.config.config?.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  const envFiles = (Object.keys(TRUST_ENV_VARS) as (keyof typeof TRUST_ENV_VARS)[]).filter((k) => TRUST_ENV_VARS[k] === 'bundle' && env.get(k)?.startsWith('/'));
  const extra = new Set(envFiles.map((k) => env.get(k)!));
  const capture = (p: string) => STORE_PREFIXES.some((x) => p.startsWith(x)) || extra.has(p);

  const fsys = new FlatFs();
  for (const [i, d] of opts.layers.entries()) fsys.apply(await scanLayer(opts.open, d, i, capture, 8 << 20));

  const stores: StoreCheck[] = [];
  const seen = new Set<string>();
  const checkBundle = (p: string, source: string) => {
    const r = fsys.resolve(p);
    if (!r?.entry || r.entry.type !== 'file') {
      if (source.startsWith('env ')) stores.push({ kind: 'bundle', path: p, realPath: r?.path ?? p, source, count: 0, trusted: false, reason: `${p} does not exist in the image` });
      return;
    }
    if (seen.has(`bundle:${r.path}`)) return;
    seen.add(`bundle:${r.path}`);
    const anchors = certsOf(r.entry.content);
    const res = buildChain(leaf, () => anchors, intermediates, now);
    stores.push({ kind: 'bundle', path: p, realPath: r.path, source, count: anchors.length, trusted: res.ok, ...(res.ok ? { chain: res.chain.map(describeSubject) } : { reason: res.reason }) });
  };
  for (const c of BUNDLE_CANDIDATES) checkBundle(c.path, `${c.layout.id} layout`);
  for (const k of envFiles) checkBundle(env.get(k)!, `env ${k}`);

  const dirs = [...HASH_DIRS, ...(env.get('SSL_CERT_DIR')?.split(':').filter((d) => d.startsWith('/')) ?? [])];
  for (const d of dirs) {
    const r = fsys.resolve(d);
    if (!r || seen.has(`dir:${r.path}`)) continue;
    const names = fsys.list(r.path).filter((n) => HASH_NAME_RE.test(n));
    if (!names.length) continue;
    seen.add(`dir:${r.path}`);
    const lookup = (c: X509Certificate) => {
      const h = issuerHash(c);
      const out: X509Certificate[] = [];
      for (let n = 0; ; n++) {
        const f = fsys.resolve(`${r.path}/${h}.${n}`);
        if (!f?.entry || f.entry.type !== 'file') break;
        out.push(...certsOf(f.entry.content));
      }
      return out;
    };
    const res = buildChain(leaf, lookup, intermediates, now);
    stores.push({ kind: 'hashdir', path: d, realPath: r.path, source: d === env.get('SSL_CERT_DIR') ? 'env SSL_CERT_DIR' : 'CApath', count: names.length, trusted: res.ok, ...(res.ok ? { chain: res.chain.map(describeSubject) } : { reason: res.reason }) });
  }

  const failures: string[] = [];
  if (!stores.some((s) => s.kind === 'bundle')) failures.push(`the image has no CA bundle (looked for ${BUNDLE_CANDIDATES.map((c) => c.path).join(', ')})`);
  for (const s of stores) if (!s.trusted) failures.push(`${s.kind === 'bundle' ? 'bundle' : 'hashed folder'} ${s.path}${s.realPath !== s.path ? ` (${s.realPath})` : ''} does not trust ${describeSubject(leaf)}: ${s.reason}`);
  return {
    certificate: { subject: describeSubject(leaf), issuer: leaf.issuer.split('\n').filter(Boolean).join(', '), intermediates: intermediates.length },
    stores,
    trusted: failures.length === 0,
    failures,
    layersRead: opts.layers.length,
  };
}

/** Lines for people. */
export function describeTrustVerify(r: TrustVerifyResult): string[] {
  const out = [`  trusts ${r.certificate.subject} (issuer ${r.certificate.issuer}${r.certificate.intermediates ? `, ${r.certificate.intermediates} intermediate${r.certificate.intermediates > 1 ? 's' : ''} given` : ''}): ${r.trusted ? 'yes' : 'NO'}`];
  for (const s of r.stores) {
    const where = `${s.kind === 'bundle' ? 'bundle' : 'CApath'} ${s.path}${s.realPath !== s.path ? ` -> ${s.realPath}` : ''} (${s.source}, ${s.count} ${s.kind === 'bundle' ? 'certificates' : 'hashed names'})`;
    out.push(`    ${s.trusted ? 'ok  ' : 'FAIL'} ${where}${s.trusted ? `: ${s.chain!.join(' <- ')}` : `: ${s.reason}`}`);
  }
  return out;
}
