/**
 * The `trust_ca` step of a build: check the CA files, find the base's CA bundle (reading only the
 * layer that holds it), and produce the layer entries that make the CAs trusted:
 *
 * - each CA as its own file in the distribution's anchors folder
 *   (`/usr/local/share/ca-certificates/<name>.crt`; RHEL: `/etc/pki/ca-trust/source/anchors/<name>.pem`),
 *   so `update-ca-certificates`/`update-ca-trust` in a derived image keeps it;
 * - the base's bundle with the new CAs appended (base bytes unchanged, a newline added if the base's
 *   last line had none, then each new CA re-encoded as PEM in spec order); its mode and owner are the
 *   base's. A base with no bundle gets `/etc/ssl/certs/ca-certificates.crt` holding only the new CAs;
 * - `<subject-hash>.N` in the CApath folder (`/etc/ssl/certs`; RHEL `/etc/pki/tls/certs`), a copy of the
 *   CA (a regular file, not a symlink: OpenSSL opens the name either way, and the layer format holds
 *   files and folders); N is the first number not taken by a name seen in the base's layers read;
 * - with `trust_env`, environment defaults in the image config pointing at the bundle / CApath.
 *
 * Checks, all before any base layer is read and before anything is written (each refusal names the
 * `trust_ca[i]` entry, a code and the fix): the path rules of copy_files sources (TC001); the file
 * holds PEM CERTIFICATE blocks that parse (TC002); no private key, whatever allow_private_keys says
 * (TC003: a trust anchor never needs its key); every certificate is a CA, basicConstraints CA:TRUE
 * (TC004); none has expired, checked against the time of the build, not SOURCE_DATE_EPOCH (TC005: an
 * expired anchor validates nothing; a certificate not valid yet only warns). Duplicates, within the
 * list and against the base's bundle (same DER bytes), are skipped and reported.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CleanimgError, type Problem } from '../../errors';
import type { LayerEntry } from '../../oci/layer';
import type { Descriptor, ImageConfig, ImageSource } from '../../oci/types';
import { detectPrivateKey } from '../inputs';
import type { CustomizeSpec } from '../spec';
import { dirMetadata, findBundle, namesIn, resolveScanned, type BundleSearch } from './find-bundle';
import { BUNDLE_CANDIDATES, DEBIAN, TRUST_ENV_VARS, type TrustEnvVar, type TrustLayout } from './layouts';
import type { OpenLayerStream } from './layer-scan';
import { derFingerprint, describeSubject, pemCertificates, subjectHash, toPem } from './x509';

export interface TrustCaFile {
  /** `trust_ca[i]` as written. */
  readonly source: string;
  readonly field: string;
  readonly subject: string;
  /** sha256 of the DER, hex. */
  readonly fingerprint: string;
  readonly notAfter: string;
  readonly pem: string;
  /** The file name stem used in the anchors folder. */
  readonly name: string;
  readonly hash: string;
}

export interface TrustCaAdded extends Omit<TrustCaFile, 'pem'> {
  readonly anchorPath: string;
  readonly hashPath: string;
}

export interface TrustReport {
  /** The store layout used: the one found in the base, or `none` (a new Debian-style bundle). */
  readonly layout: TrustLayout['id'] | 'none';
  readonly bundle: {
    readonly path: string;
    /** The name that led to it when a symlink was followed (e.g. /etc/ssl/cert.pem). */
    readonly requested?: string;
    readonly created: boolean;
    /** 1-based layer number in the base that held it. */
    readonly layer?: number;
    readonly baseCertificates: number;
    readonly size: number;
  };
  readonly certDir: string;
  readonly anchorsDir: string;
  /** Base layers read (1-based, top first) and their compressed bytes; the others were never fetched. */
  readonly layersRead: readonly number[];
  readonly layersTotal: number;
  readonly bytesFetched: number;
  readonly added: readonly TrustCaAdded[];
  readonly skipped: readonly { readonly source: string; readonly subject: string; readonly reason: string }[];
  /** `KEY=value` entries set in the image config. */
  readonly env: readonly string[];
  readonly notes: readonly string[];
}

export interface TrustStep {
  /** Files (and folders with the base's metadata) to add to the overlay layer. */
  readonly entries: readonly LayerEntry[];
  /** The base config with the trust_env defaults (the base's own when none are asked). */
  readonly config: ImageConfig;
  readonly report: TrustReport;
  readonly warnings: readonly string[];
  /** Remove the generated files (call after the layer is built). */
  dispose(): Promise<void>;
}

export interface TrustStepOptions {
  readonly spec: CustomizeSpec;
  readonly specDir: string;
  readonly baseLayers: readonly Descriptor[];
  readonly baseConfig: ImageConfig;
  readonly source: ImageSource;
  /** The layer entries from copy_files, to refuse a path written twice. */
  readonly inputEntries: readonly LayerEntry[];
  readonly now?: Date;
  readonly tmpDir?: string;
}

const CA_FILE_LIMIT = 1 << 20;

// Folders of generated files not yet disposed of: removed at exit too, so a build that fails after
// this step (e.g. while compressing the layer) leaves nothing behind.
const pendingDirs = new Set<string>();
let exitHook = false;
function track(dir: string): () => Promise<void> {
  pendingDirs.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of pendingDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return async () => {
    pendingDirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };
}

function refuse(problems: Problem[]): never {
  throw new CleanimgError(`trust_ca: ${problems.length} problem${problems.length > 1 ? 's' : ''}`, problems);
}

function stemOf(source: string): string {
  const s = path.basename(source).replace(/\.(crt|pem|cer)$/i, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]+/, '');
  return s || 'ca';
}

/** Read and check the trust_ca files (no network, nothing written). Throws one error with every problem. */
export async function readTrustCas(spec: CustomizeSpec, specDir: string, now = new Date()): Promise<{ cas: TrustCaFile[]; warnings: string[] }> {
  const list = spec.trust_ca ?? [];
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const cas: TrustCaFile[] = [];
  let root: string;
  try {
    root = await realpath(specDir);
  } catch {
    refuse([{ code: 'TC001', path: 'trust_ca', message: `the spec folder ${specDir} does not exist`, fix: 'run the build on a spec file inside its folder of inputs' }]);
  }
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  for (const [i, src] of list.entries()) {
    const field = `trust_ca[${i}]`;
    const p = (code: string, message: string, fix: string) => problems.push({ code, path: field, message, fix });
    if (path.isAbsolute(src) || path.win32.isAbsolute(src)) {
      p('TC001', `${src} is absolute`, "give a path relative to the spec file's folder and keep the CA files inside it");
      continue;
    }
    if (src.split(/[\\/]/).includes('..')) {
      p('TC001', `${src} uses ".." and may leave the spec file's folder`, "keep the CA files inside the spec file's folder and write the path without \"..\"");
      continue;
    }
    const abs = path.join(root, src);
    let real: string;
    try {
      await lstat(abs);
      real = await realpath(abs);
    } catch {
      p('TC001', `${src} does not exist in ${specDir}`, 'create the file or correct the path (it is relative to the spec file)');
      continue;
    }
    if (!inside(real)) {
      p('TC001', `${src} resolves through a symlink to ${real}, outside the spec file's folder`, 'copy the CA file into the spec folder instead of linking to it');
      continue;
    }
    const st = await stat(real);
    if (!st.isFile()) {
      p('TC001', `${src} is not a regular file`, 'list PEM certificate files, one path per entry');
      continue;
    }
    if (st.size > CA_FILE_LIMIT) {
      p('TC002', `${src} is ${st.size} bytes, too large for a CA certificate file`, 'list PEM CA certificate files (a few KiB each)');
      continue;
    }
    const key = await detectPrivateKey(real);
    if (key) {
      p('TC003', `${src} holds ${key}; a trust anchor needs only the certificate, and anyone who can pull the image could read the key`, 'give the CA certificate alone (openssl x509 -in FILE -out ca.crt); keep the key out of the image');
      continue;
    }
    const bytes = await readFile(real);
    const text = bytes.toString('latin1');
    const ders = pemCertificates(text);
    if (!ders.length) {
      let der = false;
      try {
        new X509Certificate(bytes);
        der = true;
      } catch {
        /* not DER either */
      }
      p(
        'TC002',
        der ? `${src} is a DER certificate, not PEM` : `${src} holds no PEM "CERTIFICATE" block`,
        der ? `convert it: openssl x509 -inform der -in ${src} -out ${stemOf(src)}.crt` : 'give a PEM file with -----BEGIN CERTIFICATE----- blocks (the CA certificate from your PKI team)',
      );
      continue;
    }
    for (const [k, der] of ders.entries()) {
      const label = ders.length > 1 ? `${src} certificate ${k + 1}` : src;
      let c: X509Certificate;
      try {
        c = new X509Certificate(der);
      } catch (e) {
        p('TC002', `${label} is not a readable X.509 certificate (${(e as Error).message})`, 'give the PEM certificate exactly as issued');
        continue;
      }
      const subject = describeSubject(c);
      if (!c.ca) {
        p('TC004', `${label} (${subject}) is not a CA certificate (basicConstraints CA:TRUE is missing); it cannot sign server certificates`, 'give the certificate of the CA that issued your servers\' certificates (the root, or the issuing intermediate), not a server certificate');
        continue;
      }
      const notAfter = new Date(c.validTo);
      if (notAfter.getTime() < now.getTime()) {
        p('TC005', `${label} (${subject}) expired on ${notAfter.toISOString()}`, 'get the current CA certificate from your PKI team; an expired trust anchor validates nothing');
        continue;
      }
      const notBefore = new Date(c.validFrom);
      if (notBefore.getTime() > now.getTime()) warnings.push(`${field}: ${label} (${subject}) is not valid before ${notBefore.toISOString()}`);
      const stem = stemOf(src);
      cas.push({
        source: src,
        field,
        subject,
        fingerprint: derFingerprint(der),
        notAfter: notAfter.toISOString(),
        pem: toPem(der),
        name: ders.length > 1 ? `${stem}-${k + 1}` : stem,
        hash: subjectHash(der),
      });
    }
  }
  if (problems.length) refuse(problems);
  return { cas, warnings };
}

function openerFor(source: ImageSource): OpenLayerStream {
  const s = source as ImageSource & { openBlob?: (d: string) => Promise<NodeJS.ReadableStream> };
  if (typeof s.openBlob === 'function') return (d) => s.openBlob!(d.digest);
  return async (d) => (async function* () { yield await source.getBlob(d.digest); })();
}

/** Set `KEY=value` in an env list: replaced in place when present, else appended. */
function setEnv(env: string[], key: string, value: string): string | undefined {
  const i = env.findIndex((e) => e.split('=')[0] === key);
  const entry = `${key}=${value}`;
  if (i < 0) {
    env.push(entry);
    return undefined;
  }
  const old = env[i]!.slice(key.length + 1);
  env[i] = entry;
  return old;
}

/** The trust_ca step. Returns undefined when the spec has no trust_ca. */
export async function prepareTrust(opts: TrustStepOptions): Promise<TrustStep | undefined> {
  const { spec } = opts;
  if (!spec.trust_ca?.length) return undefined;
  const { cas, warnings } = await readTrustCas(spec, opts.specDir, opts.now);
  const notes: string[] = [];
  const skipped: { source: string; subject: string; reason: string }[] = [];

  // Within the list: the first of each certificate wins.
  const seen = new Map<string, TrustCaFile>();
  const unique: TrustCaFile[] = [];
  for (const c of cas) {
    const first = seen.get(c.fingerprint);
    if (first) skipped.push({ source: c.source, subject: c.subject, reason: `the same certificate as ${first.field} (${first.source})` });
    else {
      seen.set(c.fingerprint, c);
      unique.push(c);
    }
  }

  // The base's bundle: only the layers from the top down to the one holding it are read.
  const search: BundleSearch = await findBundle(opts.baseLayers, openerFor(opts.source));
  const found = search.found;
  const layout: TrustLayout = found?.layout ?? DEBIAN;
  const layoutId: TrustReport['layout'] = found ? (found.layout.id === 'debian' && search.scanned.some((L) => L.entries.has('/etc/ssl/cert.pem')) ? 'alpine' : found.layout.id) : 'none';
  const bundlePath = found?.path ?? DEBIAN.bundles[0]!;
  const baseText = found ? found.content.toString('latin1') : '';
  const baseDers = found ? pemCertificates(baseText) : [];
  if (found && !baseDers.length && found.content.length > 0) {
    refuse([{ code: 'TC007', path: 'base_image', message: `the base's ${found.path} (layer ${found.layer + 1}) holds no PEM certificate`, fix: 'choose a base whose CA bundle is a PEM file, or report the layout so it can be supported' }]);
  }
  const inBase = new Set(baseDers.map(derFingerprint));
  const toAdd = unique.filter((c) => {
    if (!inBase.has(c.fingerprint)) return true;
    skipped.push({ source: c.source, subject: c.subject, reason: `the base already trusts it (${bundlePath})` });
    return false;
  });

  // Folders, through symlinked parents seen in the layers read.
  const realDir = (d: string) => {
    const o = resolveScanned(search.scanned, d, 'dir');
    return o.kind === 'found' || o.kind === 'continue' ? o.path : d;
  };
  const certDir = realDir(layout.certDir);
  const anchorsDir = realDir(layout.anchorsDir);

  // Names: anchors unique among themselves, hash links after the names the base already has.
  const problems: Problem[] = [];
  const byAnchor = new Map<string, TrustCaFile>();
  const taken = namesIn(search.scanned, certDir);
  const added: (TrustCaAdded & { pem: string })[] = [];
  for (const c of toAdd) {
    const anchorPath = `${anchorsDir}/${c.name}${layout.anchorExt}`;
    const other = byAnchor.get(anchorPath);
    if (other) {
      problems.push({ code: 'TC006', path: c.field, message: `${c.source} and ${other.source} would both be written to ${anchorPath}`, fix: 'rename one of the files (the file name, without its extension, names the CA in the image)' });
      continue;
    }
    byAnchor.set(anchorPath, c);
    let n = 0;
    while (taken.has(`${c.hash}.${n}`)) n++;
    taken.add(`${c.hash}.${n}`);
    added.push({ ...c, anchorPath, hashPath: `${certDir}/${c.hash}.${n}` });
  }

  // Paths copy_files already writes may not be written again.
  const inputByPath = new Map(opts.inputEntries.map((e) => [e.path, e]));
  const mine = [bundlePath, ...added.flatMap((a) => [a.anchorPath, a.hashPath])];
  for (const p of mine) {
    if (inputByPath.has(p)) {
      const who = added.find((a) => a.anchorPath === p || a.hashPath === p);
      problems.push({ code: 'TC006', path: who?.field ?? 'trust_ca', message: `${p} is also written by copy_files`, fix: 'remove that copy_files entry: trust_ca writes the CA files, the bundle and the hashed link itself' });
    }
  }
  if (problems.length) refuse(problems);

  if (!found) notes.push(`the base has no CA bundle (searched ${BUNDLE_CANDIDATES.map((c) => c.path).join(', ')}): created ${bundlePath} holding only the ${added.length} new CA${added.length === 1 ? '' : 's'}; programs using it trust nothing else`);
  notes.push(...search.notes);
  if (!added.length) notes.push('no new CA to add: every trust_ca certificate is already trusted');

  // Generated files go to a private temp folder; the layer builder copies them.
  const tmp = await mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), `cleanimg-trust-${randomBytes(3).toString('hex')}-`));
  const dispose = track(tmp);
  try {
    const entries: LayerEntry[] = [];
    let bundleText = baseText;
    if (added.length || !found) {
      if (bundleText.length && !bundleText.endsWith('\n')) bundleText += '\n';
      for (const a of added) bundleText += a.pem;
      const bundleFile = path.join(tmp, 'bundle');
      await writeFile(bundleFile, Buffer.from(bundleText, 'latin1'));
      entries.push({ path: bundlePath, kind: 'file', source: bundleFile, mode: found?.mode ?? 0o644, uid: found?.uid ?? 0, gid: found?.gid ?? 0 });
    }
    for (const [k, a] of added.entries()) {
      const f = path.join(tmp, `ca-${k}`);
      await writeFile(f, a.pem);
      entries.push({ path: a.anchorPath, kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 });
      entries.push({ path: a.hashPath, kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 });
    }
    // Parent folders keep the base's metadata when a layer read shows it (else the engine's defaults).
    const dirs = new Set<string>();
    for (const e of entries) for (let d = path.posix.dirname(e.path); d !== '/'; d = path.posix.dirname(d)) dirs.add(d);
    for (const d of [...dirs].sort()) {
      const have = inputByPath.get(d);
      if (have) continue;
      const meta = dirMetadata(search.scanned, d);
      if (meta) entries.push({ path: d, kind: 'dir', ...meta });
    }

    // Environment defaults.
    const env = [...(opts.baseConfig.config?.Env ?? [])];
    const setEntries: string[] = [];
    const wanted = new Set<TrustEnvVar>(spec.trust_env ?? []);
    for (const name of Object.keys(TRUST_ENV_VARS) as TrustEnvVar[]) {
      const value = TRUST_ENV_VARS[name] === 'bundle' ? bundlePath : certDir;
      const current = env.find((e) => e.split('=')[0] === name)?.slice(name.length + 1);
      if (wanted.has(name)) {
        const old = setEnv(env, name, value);
        setEntries.push(`${name}=${value}`);
        if (old !== undefined && old !== value) notes.push(`trust_env replaced the base's ${name}=${old}`);
      } else if (current !== undefined && current !== value && (name === 'SSL_CERT_FILE' || name === 'SSL_CERT_DIR' || name === 'REQUESTS_CA_BUNDLE' || name === 'CURL_CA_BUNDLE')) {
        warnings.push(`the base sets ${name}=${current}, so programs reading it do not see the CAs added to ${value}; add ${name} to trust_env to point it at ${value}`);
      }
    }
    const config: ImageConfig = setEntries.length ? { ...opts.baseConfig, config: { ...(opts.baseConfig.config ?? {}), Env: env } } : opts.baseConfig;

    const report: TrustReport = {
      layout: layoutId,
      bundle: {
        path: bundlePath,
        ...(found && found.requested !== found.path ? { requested: found.requested } : {}),
        created: !found,
        ...(found ? { layer: found.layer + 1 } : {}),
        baseCertificates: baseDers.length,
        size: Buffer.byteLength(bundleText, 'latin1'),
      },
      certDir,
      anchorsDir,
      layersRead: search.layersRead.map((i) => i + 1),
      layersTotal: opts.baseLayers.length,
      bytesFetched: search.bytesFetched,
      added: added.map(({ pem: _pem, ...rest }) => rest),
      skipped,
      env: setEntries,
      notes,
    };
    return { entries, config, report, warnings, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** Lines for people (the CLI prints them on stderr). */
export function describeTrust(r: TrustReport): string[] {
  const out: string[] = [];
  const read = `read ${r.layersRead.length} of ${r.layersTotal} base layer${r.layersTotal === 1 ? '' : 's'} (${r.bytesFetched} bytes)`;
  out.push(
    r.bundle.created
      ? `trust_ca: no CA bundle in the base (${read}); created ${r.bundle.path}`
      : `trust_ca: ${r.layout} layout, bundle ${r.bundle.path}${r.bundle.requested ? ` (via ${r.bundle.requested})` : ''} from base layer ${r.bundle.layer} with ${r.bundle.baseCertificates} certificates; ${read}`,
  );
  for (const a of r.added) out.push(`trust_ca: added ${a.subject} (${a.source}) as ${a.anchorPath}, ${a.hashPath}`);
  for (const s of r.skipped) out.push(`trust_ca: skipped ${s.subject} (${s.source}): ${s.reason}`);
  for (const e of r.env) out.push(`trust_ca: env ${e}`);
  for (const n of r.notes) out.push(`trust_ca: note: ${n}`);
  return out;
}
