/**
 * Turn a validated spec into layer entries, checking every input on the way. All problems are
 * collected and reported at once; nothing is written here.
 *
 * Sources: relative to the spec file's folder; absolute paths and `..` segments are refused, and so is a
 * symlink (anywhere on the way) that resolves outside the folder. Symlinks that stay inside are followed
 * (the layer holds the target's contents). Folder sources are copied recursively; fifos, sockets and
 * devices are refused. Each file's contents are checked through one handle (opened without following
 * a final symlink, judged by the kernel's name for it), and its identity goes with its layer entry so
 * the layer is built from that file, unchanged, or not at all (INPUT012, LAYER004).
 *
 * Destinations: absolute, normalised (no `//`, `.`, `..`), inside the image root; a trailing `/` means
 * "into this folder" (the source's base name is kept). Refused:
 * - shells, by verify's own rules: a shell name in a binary folder, busybox/toybox anywhere
 *   (shellByPath), and an ELF file that is a shell by its contents whatever its name (hashAndScan's sniff):
 *   a shell-less image must stay shell-less;
 * - /proc, /sys, /dev (runtime mounts) and a file in place of a system folder (/etc, /usr/bin, ...);
 * - names starting with `.wh.` (layer whiteouts: they would delete files of the base);
 * - anything under /bin, /sbin, /lib, /lib32, /lib64, /libx32, /var/run, /var/lock: on merged-/usr bases
 *   these are symlinks, and a folder entry in the layer would replace the symlink and hide the base's
 *   files. The overlay never reads the base's layers, so it cannot tell: use /usr/bin, /usr/local/bin, /run.
 *
 * Private keys: a file holding a PEM private key block of any kind (PKCS#1/#8, EC, encrypted, OpenSSH,
 * PGP), PKCS#8/PKCS#1/SEC1 DER, an OpenSSH `openssh-key-v1` blob, a PuTTY key or a JWK with private
 * members is refused unless the spec says
 * `allow_private_keys: true` (or the caller passes allowPrivateKeys): anyone who can pull the image can
 * read it. Secrets belong in a Kubernetes Secret mounted at runtime (EnvConfig), not in image layers.
 *
 * Certificates: a file whose destination is a CA location (under /etc/ssl/certs/,
 * /usr/local/share/ca-certificates/, /etc/pki/ca-trust/source/anchors/, or any name ending in .crt) is
 * parsed with node:crypto X509Certificate, every certificate of a bundle; a *.pem elsewhere is parsed
 * when it holds a CERTIFICATE block. Decision:
 * - not a certificate at all: refused (a typo or the wrong file would silently break TLS);
 * - expired: refused (an expired trust anchor cannot validate anything; the fix is a current one);
 * - not a CA (basicConstraints CA:FALSE or absent): a warning, returned to the caller, because a leaf or
 *   self-signed server certificate placed there is sometimes intended (pinning, or a server's own cert).
 *   No warning for *.pem outside CA folders (those are usually a server's own chain).
 */
import { lstat, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CleanimgError, type Problem } from '../errors';
import type { LayerEntry } from '../oci/layer';
import { defaultDirMode, normalizeEntries } from '../oci/layer';
import { shellByPath } from '../oci/inspect/shells';
import { isSystemFolder, systemFolderProblem, systemPathOf } from '../oci/inspect/system-files';
import { openNoFollow, openedPath, sameSourceStat, sourceStatOf, type SourceStat } from '../oci/source-stat';
import type { CustomizeSpec, Owner } from './spec';
import { hashAndScan, type SourceScan } from './source-read';
import { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE } from './spec-core';

export { detectPrivateKey, PrivateKeyScanner, PRIVATE_KEY_SCAN_VERSION } from './private-keys';

export interface InputOptions {
  /** Same as `allow_private_keys: true` in the spec. */
  readonly allowPrivateKeys?: boolean;
  /** The time certificates are checked against; default now. */
  readonly now?: Date;
  /**
   * The sha256 and private-key scan of one source file, read through the checks' handle (default
   * hashAndScan). The build passes the layer cache's, which remembers both with the file's stat. The
   * sha256 travels with the layer entry: the layer builder refuses other bytes (LAYER004).
   */
  readonly inspectSource?: (file: string, fh: FileHandle) => Promise<SourceScan>;
}

export interface ResolvedInputs {
  /** Files and folders for the layer, sorted, parents included. */
  readonly entries: readonly LayerEntry[];
  /** Things the user should read but that do not stop the build. */
  readonly warnings: readonly string[];
  /** Parent folders the layer creates with default modes (they replace the base's metadata). */
  readonly implicitDirectories: readonly string[];
  readonly fileCount: number;
  readonly totalBytes: number;
}

/** Folders that are symlinks on merged-/usr distributions (and /var/run, /var/lock on most). */
const SYMLINKED_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/var/run', '/var/lock'];
const RUNTIME_DIRS = ['/proc', '/sys', '/dev'];
const CA_DIRS = ['/etc/ssl/certs', '/usr/local/share/ca-certificates', '/etc/pki/ca-trust/source/anchors'];
const CERT_FILE_LIMIT = 16 << 20;

/** True when the destination path alone makes a file a shell, by verify's rule (shellByPath); contents are checked in checkFile. */
export function isShellPath(p: string): boolean {
  return shellByPath(p) !== undefined;
}

function isUnder(p: string, dir: string): boolean {
  return dir === '/' ? p.startsWith('/') : p === dir || p.startsWith(dir + '/');
}

/**
 * How strictly a destination is checked as a certificate: `ca-dir` (a trust store folder) and `crt`
 * (a *.crt name anywhere) must hold certificates; `pem` (a *.pem name elsewhere) is checked only when
 * it holds a CERTIFICATE block (it may be DH parameters, or a key allowed by override). Null: not checked.
 */
export function certificateRole(p: string): 'ca-dir' | 'crt' | 'pem' | null {
  if (CA_DIRS.some((d) => isUnder(p, d) && p !== d)) return 'ca-dir';
  if (/\.crt$/i.test(p)) return 'crt';
  if (/\.pem$/i.test(p)) return 'pem';
  return null;
}

/** Why a destination is not acceptable as written, or null. Trailing "/" is allowed (folder). */
function destinationProblem(dest: string): string | null {
  if (!dest.startsWith('/')) return 'must be an absolute path in the image (start with "/")';
  if (dest.includes('\0')) return 'contains a NUL byte';
  if (dest.includes('\\')) return 'contains a backslash; image paths use "/"';
  const body = dest.length > 1 && dest.endsWith('/') ? dest.slice(0, -1) : dest;
  if (body.includes('//')) return 'contains "//"; write the normalised path';
  const parts = body.split('/').slice(1);
  if (parts.some((s) => s === '..')) return 'contains ".." and could leave the image root';
  if (parts.some((s) => s === '.')) return 'contains "."; write the normalised path';
  return null;
}

interface Walked {
  readonly dest: string;
  readonly kind: 'file' | 'dir';
  readonly real: string;
  readonly size: number;
  readonly field: string;
}

export interface CertificateCheck {
  readonly error?: string;
  readonly warnings: string[];
  /** How many of the certificates are CAs (basicConstraints CA:TRUE). */
  readonly caCount: number;
}

/** Parse every certificate in a PEM bundle (or one DER certificate) and judge it as a trust anchor. */
export function checkCertificates(bytes: Buffer, now: Date): CertificateCheck {
  const text = bytes.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const certs: X509Certificate[] = [];
  try {
    if (blocks.length) for (const b of blocks) certs.push(new X509Certificate(b));
    else if (!text.includes('-----BEGIN')) certs.push(new X509Certificate(bytes));
  } catch (e) {
    return { error: `is not a readable X.509 certificate (${(e as Error).message})`, warnings: [], caCount: 0 };
  }
  if (certs.length === 0) return { error: 'holds no PEM "CERTIFICATE" block', warnings: [], caCount: 0 };
  const warnings: string[] = [];
  for (const [i, c] of certs.entries()) {
    const subject = c.subject.replace(/\n/g, ', ');
    const label = certs.length > 1 ? `certificate ${i + 1} (${subject})` : `certificate (${subject})`;
    const notAfter = new Date(c.validTo);
    if (notAfter.getTime() < now.getTime()) {
      return { error: `${label} expired on ${notAfter.toISOString()}`, warnings, caCount: 0 };
    }
    const notBefore = new Date(c.validFrom);
    if (notBefore.getTime() > now.getTime()) warnings.push(`${label} is not valid before ${notBefore.toISOString()}`);
    if (!c.ca) warnings.push(`${label} is not a CA certificate (basicConstraints CA:FALSE or missing); it cannot sign other certificates`);
  }
  return { warnings, caCount: certs.filter((c) => c.ca).length };
}

function ownerOf(o: Owner | undefined): Owner {
  return o ?? { uid: 0, gid: 0 };
}

type Entry = LayerEntry & { field: string };

/**
 * One run of resolveInputs: collects entries, problems and warnings. Sources are checked in three
 * steps: their paths (inside the spec folder after symlinks), their destinations, then their contents
 * through one open handle each (see source-stat.ts), so the layer holds the bytes that were checked.
 */
class InputResolver {
  readonly problems: Problem[] = [];
  readonly warnings: string[] = [];
  private readonly entries = new Map<string, Entry>();
  private readonly walked: Walked[] = [];
  private readonly pinned = new Map<string, SourceStat>();
  /** sha256 of each source's bytes as the checks read them. */
  private readonly checkedSha256 = new Map<string, string>();
  private trusted?: Promise<Set<string>>;

  constructor(
    private readonly spec: CustomizeSpec,
    private readonly specDir: string,
    private readonly root: string,
    private readonly opts: InputOptions,
  ) {}

  private inside(p: string): boolean {
    return p === this.root || p.startsWith(this.root + path.sep);
  }

  private problem(code: string, where: string, message: string, fix: string): void {
    this.problems.push({ code, path: where, message, fix });
  }

  private add(e: LayerEntry, field: string): void {
    const have = this.entries.get(e.path);
    if (!have) {
      this.entries.set(e.path, { ...e, field });
      return;
    }
    if (have.kind === 'dir' && e.kind === 'dir' && have.mode === e.mode && have.uid === e.uid && have.gid === e.gid) return;
    this.problem('INPUT010', field, `destination ${e.path} is also written by ${have.field}`,
      have.kind === 'dir' && e.kind === 'dir' ? 'give both the same mode and owner, or set the folder under directories:' : 'give each destination once');
  }

  private checkDestination(dest: string, field: string, kind: 'file' | 'dir'): boolean {
    if (dest.split('/').some((c) => c.startsWith('.wh.'))) {
      this.problem('INPUT005', field, `${dest} has a name starting with ".wh.", which image layers use to delete files of the layers below`, 'rename the file; the overlay only adds files');
      return false;
    }
    if (isShellPath(dest)) {
      this.problem('INPUT006', field, `${dest} would add or replace a shell in the image`,
        'do not add shells: the image must stay shell-less (debug with logs or an ephemeral debug container instead); rename the destination if this file is not a shell');
      return false;
    }
    const system = systemPathOf(dest);
    if (system && !(this.spec.unsafe_allow_system_files ?? []).some((a) => isUnder(dest, a))) {
      this.problem('INPUT013', field, `${dest} is ${system === dest ? 'a' : `in ${system}, a`} ${kind === 'dir' ? 'folder' : 'file'} the dynamic loader or the account and login machinery reads: it can load code into every process or make the image's user root`,
        `leave it to the base image; if the image truly needs it, list it under unsafe_allow_system_files: [${system}]`);
      return false;
    }
    if (RUNTIME_DIRS.some((d) => isUnder(dest, d))) {
      this.problem('INPUT005', field, `${dest} is under a runtime mount (/proc, /sys, /dev)`, 'choose a destination the runtime does not mount over');
      return false;
    }
    const link = SYMLINKED_DIRS.find((d) => isUnder(dest, d));
    if (link) {
      this.problem('INPUT011', field, `${dest} is under ${link}, which is a symlink on merged-/usr images; the layer would replace it with a folder`,
        link.startsWith('/var') ? 'use the /run path instead' : `use the /usr path (e.g. /usr${link}/...) or /usr/local/bin`);
      return false;
    }
    if (kind === 'file' && isSystemFolder(dest)) {
      this.problem('INPUT005', field, `a file at ${dest} would replace a system folder of the base`, 'end the destination with "/" to copy into the folder');
      return false;
    }
    return true;
  }

  /**
   * A source file with more than one name may be the same file as one outside the spec folder (a hard
   * link crosses folders without a symlink to follow), so it is refused.
   */
  private singleLink(rel: string, nlink: number | bigint, field: string): boolean {
    if (Number(nlink) <= 1) return true;
    this.problem('INPUT014', field, `${rel} has ${nlink} hard links: the same file may also sit outside the spec file's folder`,
      'copy the file into the spec folder (cp, not ln) so that it has one name');
    return false;
  }

  /** trust_ca sources, resolved like copy_files sources (the trust step checks them itself). */
  private trustedSources(): Promise<Set<string>> {
    return (this.trusted ??= Promise.all((this.spec.trust_ca ?? []).map((p) => realpath(path.resolve(this.root, p)).catch(() => path.resolve(this.root, p)))).then((l) => new Set(l)));
  }

  /** A copy_files source's path: relative, no "..", existing, inside the folder after symlinks. */
  private async sourceOf(src: string, srcField: string): Promise<{ real: string; st: Stats } | undefined> {
    const abs = path.join(this.root, src);
    try {
      await lstat(abs);
    } catch {
      this.problem('INPUT003', srcField, `${src} does not exist in ${this.specDir}`, 'create the file or correct the path (it is relative to the spec file)');
      return undefined;
    }
    let real: string;
    let st: Stats;
    try {
      real = await realpath(abs);
      st = await stat(real);
    } catch {
      this.problem('INPUT003', srcField, `${src} is a symlink to something that does not exist`, 'point it at an existing file inside the spec folder');
      return undefined;
    }
    if (!this.inside(real)) {
      this.problem('INPUT002', srcField, `${src} resolves through a symlink to ${real}, outside the spec file's folder`, 'copy the file into the spec folder instead of linking to it');
      return undefined;
    }
    return { real, st };
  }

  /** One copy_files entry: its paths, then the file or the folder's contents. */
  async copy(i: number, cf: CustomizeSpec['copy_files'][number]): Promise<void> {
    const srcField = `copy_files[${i}].source`;
    const dstField = `copy_files[${i}].destination`;
    const owner = ownerOf(cf.owner);
    const fileMode = cf.mode ?? DEFAULT_FILE_MODE;
    const src = cf.source;
    const before = this.problems.length;
    if (path.isAbsolute(src) || path.win32.isAbsolute(src)) {
      this.problem('INPUT001', srcField, `${src} is absolute`, 'give a path relative to the spec file\'s folder and keep inputs inside it');
    } else if (src.split(/[\\/]/).includes('..')) {
      this.problem('INPUT001', srcField, `${src} uses ".." and may leave the spec file's folder`, 'keep inputs inside the spec file\'s folder and write the path without ".."');
    }
    const destErr = destinationProblem(cf.destination);
    if (destErr) this.problem('INPUT005', dstField, `${cf.destination} ${destErr}`, 'write an absolute, normalised path such as /etc/app/config.yaml');
    if (this.problems.length > before) return;

    const source = await this.sourceOf(src, srcField);
    if (!source) return;
    const { real, st } = source;
    const dest0 = cf.destination;
    const intoFolder = dest0.length > 1 && dest0.endsWith('/');
    const destBody = intoFolder ? dest0.slice(0, -1) : dest0;

    if (st.isFile()) {
      const dest = intoFolder || dest0 === '/' ? path.posix.join(destBody, path.basename(src)) : destBody;
      if (!this.checkDestination(dest, dstField, 'file') || !this.singleLink(src, st.nlink, srcField)) return;
      this.walked.push({ dest, kind: 'file', real, size: st.size, field: srcField });
      this.add({ path: dest, kind: 'file', source: real, mode: fileMode, uid: owner.uid, gid: owner.gid }, dstField);
      return;
    }
    if (!st.isDirectory()) {
      this.problem('INPUT004', srcField, `${src} is not a regular file or folder`, 'copy regular files and folders only (no fifos, sockets or devices)');
      return;
    }
    // A folder: its contents go to the destination folder.
    if (destBody !== '/') {
      if (!this.checkDestination(destBody, dstField, 'dir')) return;
      this.add({ path: destBody, kind: 'dir', mode: DEFAULT_DIR_MODE, uid: owner.uid, gid: owner.gid }, dstField);
    }
    await this.walk({ srcField, dstField, fileMode, owner }, real, destBody, src.replace(/\/+$/, ''), new Set([real]));
  }

  private async walk(c: { srcField: string; dstField: string; fileMode: number; owner: Owner }, dirReal: string, destDir: string, rel: string, chain: Set<string>): Promise<void> {
    const names = (await readdir(dirReal)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const childAbs = path.join(dirReal, name);
      const childRel = path.posix.join(rel, name);
      const childDest = destDir === '/' ? `/${name}` : `${destDir}/${name}`;
      const where = `${c.srcField} (${childRel})`;
      let cReal: string;
      let cst: Stats;
      try {
        const l = await lstat(childAbs);
        cReal = l.isSymbolicLink() ? await realpath(childAbs) : childAbs;
        cst = l.isSymbolicLink() ? await stat(cReal) : l;
      } catch {
        this.problem('INPUT003', where, `${childRel} is a symlink to something that does not exist`, 'remove the dangling link or point it inside the spec folder');
        continue;
      }
      if (!this.inside(cReal)) {
        this.problem('INPUT002', where, `${childRel} resolves through a symlink to ${cReal}, outside the spec file's folder`, 'copy the file into the spec folder instead of linking to it');
        continue;
      }
      if (cst.isFile()) {
        if (!this.checkDestination(childDest, where, 'file') || !this.singleLink(childRel, cst.nlink, where)) continue;
        this.walked.push({ dest: childDest, kind: 'file', real: cReal, size: cst.size, field: where });
        this.add({ path: childDest, kind: 'file', source: cReal, mode: c.fileMode, uid: c.owner.uid, gid: c.owner.gid }, `${c.dstField} (${childDest})`);
      } else if (cst.isDirectory()) {
        if (chain.has(cReal)) {
          this.problem('INPUT004', where, `${childRel} is a symlink loop`, 'remove the link that points back to its own folder');
          continue;
        }
        if (!this.checkDestination(childDest, where, 'dir')) continue;
        this.add({ path: childDest, kind: 'dir', mode: DEFAULT_DIR_MODE, uid: c.owner.uid, gid: c.owner.gid }, `${c.dstField} (${childDest})`);
        await this.walk(c, cReal, childDest, childRel, new Set([...chain, cReal]));
      } else {
        this.problem('INPUT004', where, `${childRel} is not a regular file or folder`, 'copy regular files and folders only (no fifos, sockets or devices)');
      }
    }
  }

  /** Folders the user set explicitly: they win over the defaults of folder sources. */
  directories(): void {
    for (const [i, d] of this.spec.directories.entries()) {
      const field = `directories[${i}].path`;
      const err = destinationProblem(d.path);
      const p = d.path.length > 1 && d.path.endsWith('/') ? d.path.slice(0, -1) : d.path;
      if (err || p === '/') {
        this.problem('INPUT005', field, `${d.path} ${err ?? 'is the image root'}`, 'write an absolute, normalised folder path such as /etc/app');
        continue;
      }
      if (!this.checkDestination(p, field, 'dir')) continue;
      const have = this.entries.get(p);
      if (have && have.kind === 'file') {
        this.problem('INPUT010', field, `${p} is a file written by ${have.field}`, 'remove the folder setting or change the file destination');
        continue;
      }
      const o = ownerOf(d.owner);
      this.entries.set(p, { path: p, kind: 'dir', mode: d.mode ?? DEFAULT_DIR_MODE, uid: o.uid, gid: o.gid, field });
    }
  }

  /**
   * System folders (/etc, /usr/lib, ...) stay root's and writable by root only, whichever entry sets
   * them: a folder source's destination or subfolder (with the entry's owner) or directories:.
   */
  systemFolders(): void {
    for (const e of this.entries.values()) {
      const why = e.kind === 'dir' ? systemFolderProblem(e.path, e.mode, e.uid, e.gid) : undefined;
      if (why) {
        this.problem('INPUT015', e.field, why,
          `leave ${e.path} to the base: copy into a folder of your own (e.g. ${e.path === '/' ? '' : e.path}/app/) and give that folder the owner and mode, or drop ${e.path} from directories:`);
      }
    }
  }

  /** A file may not sit where another entry needs a folder. */
  parents(): void {
    for (const e of this.entries.values()) {
      const parts = e.path.split('/').slice(1);
      for (let k = 1; k < parts.length; k++) {
        const parent = '/' + parts.slice(0, k).join('/');
        const have = this.entries.get(parent);
        if (have && have.kind === 'file') this.problem('INPUT010', e.field, `${e.path} needs ${parent} to be a folder, but ${have.field} writes a file there`, 'change one of the destinations');
      }
    }
  }

  /**
   * The contents of every file, read through one handle opened without following a final symlink:
   * where the kernel says that file is must be inside the folder, and it must not change while it is
   * read. Its identity then travels with the entry, and the layer is built from that file only.
   * Run only when the paths are sound (keeps the report short and avoids reading escaped files).
   */
  async contents(): Promise<{ fileCount: number; totalBytes: number }> {
    let fileCount = 0;
    let totalBytes = 0;
    for (const w of this.walked) {
      if (w.kind !== 'file') continue;
      fileCount += 1;
      totalBytes += w.size;
      await this.checkContent(w);
    }
    return { fileCount, totalBytes };
  }

  private async checkContent(w: Walked): Promise<void> {
    const rel = path.relative(this.root, w.real);
    const changed = (what: string) => this.problem('INPUT012', w.field, `${rel} ${what} while the build checked it`, 'do not change the inputs during a build, then run it again');
    let fh: FileHandle;
    try {
      fh = await openNoFollow(w.real);
    } catch {
      changed('was replaced by a symlink or removed');
      return;
    }
    try {
      const st = await fh.stat({ bigint: true });
      const where = await openedPath(fh);
      if (where !== undefined && !this.inside(where)) {
        this.problem('INPUT002', w.field, `${rel} is now ${where}, outside the spec file's folder`, 'copy the file into the spec folder instead of linking to it');
        return;
      }
      if (!st.isFile()) {
        changed('stopped being a regular file');
        return;
      }
      if (!this.singleLink(rel, st.nlink, w.field)) return;
      const seen = sourceStatOf(st);
      await this.checkFile(w, fh);
      if (!sameSourceStat(seen, sourceStatOf(await fh.stat({ bigint: true })))) {
        changed('was modified');
        return;
      }
      this.pinned.set(w.real, seen);
    } finally {
      await fh.close();
    }
  }

  private async checkFile(w: Walked, fh: FileHandle): Promise<void> {
    const { sha256, privateKey: key, shell } = await (this.opts.inspectSource ?? hashAndScan)(w.real, fh);
    this.checkedSha256.set(w.real, sha256);
    if (shell) {
      this.problem('INPUT006', w.field, `${path.relative(this.root, w.real)} (for ${w.dest}) is a ${shell} binary by its contents; verify would refuse the image`,
        'do not add shells: the image must stay shell-less (debug with logs or an ephemeral debug container instead)');
      return;
    }
    const allowKeys = this.opts.allowPrivateKeys === true || this.spec.allow_private_keys;
    if (key && !allowKeys) {
      this.problem('INPUT007', w.field, `${path.relative(this.root, w.real)} (for ${w.dest}) is ${key}; anyone who can pull the image could read it`,
        'keep secrets out of images: put the key in a Kubernetes Secret and mount it at runtime (EnvConfig). If this key is truly public, set allow_private_keys: true');
      return;
    }
    if (key) return; // allowed by override; not a certificate either
    const kind = certificateRole(w.dest);
    if (!kind) return;
    if (w.size > CERT_FILE_LIMIT) {
      this.problem('INPUT008', w.field, `${w.dest} is at a certificate location but is ${w.size} bytes`, 'copy PEM certificates there, or choose another destination');
      return;
    }
    const bytes = await readAll(fh);
    if (kind === 'pem' && !bytes.includes('-----BEGIN CERTIFICATE-----')) return; // dhparams and other PEM files
    const r = checkCertificates(bytes, this.opts.now ?? new Date());
    if (kind !== 'pem') for (const m of r.warnings) this.warnings.push(`${w.field} (${w.dest}): ${m}`);
    if (kind === 'ca-dir' && !r.error && r.caCount > 0 && !(await this.trustedSources()).has(w.real)) {
      // The guide's own example: a CA copied into /etc/ssl/certs. Go reads every file there; OpenSSL,
      // curl, Python and `node --use-openssl-ca` read the bundle file or the hashed names, which only
      // update-ca-certificates writes, and a shell-less image cannot run it.
      this.warnings.push(
        `${w.field} (${w.dest}): a CA copied into a trust store folder is not in the image's CA bundle nor under its hashed name, ` +
          'so OpenSSL, curl, Python and Node.js with the system store will not trust it (only Go reads every file there). ' +
          `To make the image trust it, list it under trust_ca (trust_ca: [${path.relative(this.root, w.real)}]): the build adds it to the bundle`,
      );
    }
    if (r.error) {
      const expired = /expired/.test(r.error);
      this.problem(expired ? 'INPUT009' : 'INPUT008', w.field, `${w.dest} ${r.error}`,
        expired
          ? 'replace it with a current certificate from your CA; an expired trust anchor validates nothing'
          : 'copy a PEM or DER X.509 certificate there, or choose a destination that is not a certificate location');
    }
  }

  /** The layer entries: each file with the identity its checks saw, and every missing parent folder. */
  result(counts: { fileCount: number; totalBytes: number }): ResolvedInputs {
    const implicit: string[] = [];
    const all = new Map<string, LayerEntry>();
    for (const e of this.entries.values()) {
      const pin = e.source ? this.pinned.get(e.source) : undefined;
      const sha = e.source ? this.checkedSha256.get(e.source) : undefined;
      all.set(e.path, { path: e.path, kind: e.kind, ...(e.source ? { source: e.source } : {}), ...(pin ? { sourceStat: pin } : {}), ...(sha ? { sourceSha256: sha } : {}), mode: e.mode, uid: e.uid, gid: e.gid });
    }
    for (const e of [...all.values()]) {
      const parts = e.path.split('/').slice(1);
      for (let k = 1; k < parts.length; k++) {
        const parent = '/' + parts.slice(0, k).join('/');
        if (!all.has(parent)) {
          all.set(parent, { path: parent, kind: 'dir', mode: defaultDirMode(parent), uid: 0, gid: 0 });
          implicit.push(parent);
        }
      }
    }
    return { entries: normalizeEntries([...all.values()]), warnings: this.warnings, implicitDirectories: implicit.sort(), ...counts };
  }
}

/** Every byte of an open file, from its start. */
async function readAll(fh: FileHandle): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of fh.createReadStream({ start: 0, autoClose: false })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Resolve, walk and check the spec's inputs. Throws one CleanimgError listing every problem. */
export async function resolveInputs(spec: CustomizeSpec, specDir: string, opts: InputOptions = {}): Promise<ResolvedInputs> {
  let root: string;
  try {
    root = await realpath(specDir);
  } catch {
    throw new CleanimgError('cannot read the spec folder', [
      { code: 'INPUT003', path: specDir, message: 'the folder of the spec file does not exist', fix: 'run the build on a spec file inside its folder of inputs' },
    ]);
  }
  const r = new InputResolver(spec, specDir, root, opts);
  for (const [i, cf] of spec.copy_files.entries()) await r.copy(i, cf);
  r.directories();
  r.systemFolders();
  r.parents();
  const counts = await r.contents();
  if (r.problems.length) {
    throw new CleanimgError(`the spec's inputs have ${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}`, r.problems);
  }
  return r.result(counts);
}
