/**
 * The private-key scan of the overlay's inputs (INPUT007): what a file's bytes must not hold, found
 * chunk by chunk so that the scan shares one read with hashing (source-read.ts, the layer cache).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';

const PEM_KEY_RE = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/;
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const OPENSSH_B64 = 'b3BlbnNzaC1rZXktdjE';
const PUTTY_RE = /^PuTTY-User-Key-File-[0-9]+:/;
/** A PuTTY key's first two lines, wherever they start a line (puttygen's own binary has only a format string). */
const PUTTY_ANYWHERE_RE = /(?:^|[\r\n])PuTTY-User-Key-File-[0-9]+: [^\r\n]{1,64}\r?\nEncryption: /;
const PUTTY_BYTES = Buffer.from('PuTTY-User-Key-File-', 'latin1');
const PEM_BEGIN_BYTES = Buffer.from('-----BEGIN ', 'latin1');
const PRIVATE_KEY_BYTES = Buffer.from('PRIVATE KEY', 'latin1');
const OPENSSH_B64_BYTES = Buffer.from(OPENSSH_B64, 'latin1');

/**
 * "PRIVATE KEY" as base64 at each of its three alignments (only the characters it alone decides):
 * a PEM key wrapped in base64 once more, as in a properties file or a Kubernetes-style value.
 */
const BASE64_MARKERS: readonly [Buffer, string][] = [0, 1, 2].map((off) => {
  const encoded = Buffer.concat([Buffer.alloc(off), PRIVATE_KEY_BYTES]).toString('base64');
  const full = 4 * Math.floor((off + PRIVATE_KEY_BYTES.length) / 3);
  return [Buffer.from(encoded.slice(off === 0 ? 0 : 4, full), 'latin1'), 'a base64-wrapped PEM private key'];
});

/** The start of a DER private key's body, which a public key or certificate never has: version 0, then the algorithm. */
const DER_KEY_MARKERS: readonly [Buffer, string][] = [
  // PKCS#8: INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }
  ['020100300d06092a864886f70d0101010500', 'a PKCS#8 DER RSA private key'],
  // PKCS#8: INTEGER 0, SEQUENCE { OID ecPublicKey, ... }
  ['020100301306072a8648ce3d0201', 'a PKCS#8 DER EC private key'],
  // PKCS#8: INTEGER 0, SEQUENCE { OID Ed25519 / X25519 / Ed448 }, OCTET STRING
  ['020100300506032b657004', 'a PKCS#8 DER Ed25519 private key'],
  ['020100300506032b656e04', 'a PKCS#8 DER X25519 private key'],
  ['020100300506032b657104', 'a PKCS#8 DER Ed448 private key'],
  // PKCS#12 key bags: keyBag and pkcs8ShroudedKeyBag (1.2.840.113549.1.12.10.1.1 and .2)
  ['060b2a864886f70d010c0a0101', 'a private key in a PKCS#12 keystore (keyBag)'],
  ['060b2a864886f70d010c0a0102', 'a private key in a PKCS#12 keystore (pkcs8ShroudedKeyBag)'],
  // PKCS#1 RSAPrivateKey: INTEGER 0, then the modulus of a 1024/2048/3072/4096-bit key (a public key has no version)
  ['02010002818100', 'a PKCS#1 DER RSA private key'],
  ['0201000282010100', 'a PKCS#1 DER RSA private key'],
  ['0201000282018100', 'a PKCS#1 DER RSA private key'],
  ['0201000282020100', 'a PKCS#1 DER RSA private key'],
  // SEC1 ECPrivateKey: the curve as [0] parameters (P-256, P-384, P-521, secp256k1), which only the private key form has
  ['a00a06082a8648ce3d030107', 'a SEC1 DER EC private key'],
  ['a00706052b81040022', 'a SEC1 DER EC private key'],
  ['a00706052b81040023', 'a SEC1 DER EC private key'],
  ['a00706052b8104000a', 'a SEC1 DER EC private key'],
].map(([hex, what]) => [Buffer.from(hex!, 'hex'), what!]);

/** JWK members that only a private key has (RSA, EC and OKP `d`, RSA's primes); `k` of a symmetric key. */
const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

/** A JWK or JWK set (or anything holding one, at any depth) with a private member, found in parsed JSON. */
function privateJwk(root: unknown): boolean {
  const todo: unknown[] = [root];
  while (todo.length) {
    const v = todo.pop();
    if (!v || typeof v !== 'object') continue;
    const o = v as Record<string, unknown>;
    if (typeof o.kty === 'string' && (JWK_PRIVATE_MEMBERS.some((m) => typeof o[m] === 'string') || (o.kty === 'oct' && typeof o.k === 'string'))) return true;
    for (const x of Object.values(o)) todo.push(x);
  }
  return false;
}

/**
 * The same in JSON text of any size, without parsing: a `"kty"` member anywhere and a private member
 * with a base64url value (written as JSON writers write it: no escapes, little white space).
 */
const JWK_KTY_BYTES = Buffer.from('"kty"', 'latin1');
const JWK_MEMBER_BYTES = [...JWK_PRIVATE_MEMBERS, 'k'].map((m) => Buffer.from(`"${m}"`, 'latin1'));
const JWK_MEMBER_RE = /"(?:d|p|q|dp|dq|qi|k)"\s{0,32}:\s{0,32}"[A-Za-z0-9_-]{16}/;

/** The first DER element of `bytes` (a key followed by padding or other data), when it is complete there. */
function firstDerElement(bytes: Buffer): Buffer | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x30) return undefined;
  const n = bytes[1]! & 0x7f;
  if (bytes[1]! < 0x80) return bytes.subarray(0, 2 + bytes[1]!);
  if (n === 0 || n > 3 || bytes.length < 2 + n) return undefined;
  const len = bytes.subarray(2, 2 + n).reduce((a, b) => a * 256 + b, 0);
  return 2 + n + len <= bytes.length ? bytes.subarray(0, 2 + n + len) : undefined;
}

/** How many first bytes of a file decide which extra markers it is searched for. */
const EXTRA_DECISION_BYTES = 4096;

/** Part of what a cached scan result depends on: change it whenever the detection below changes. */
export const PRIVATE_KEY_SCAN_VERSION = 3;

/**
 * Looks for private key material in a stream of one file's bytes, chunk by chunk (so the scan can share
 * a read with hashing): PEM/OpenSSH markers and a PuTTY key's first lines anywhere (with overlap
 * between chunks), also wrapped in base64; in files that start as DER or hold a PEM block, the body of
 * a DER PKCS#8, PKCS#1 (RSA 1024-4096) or SEC1 (P-256/384/521, secp256k1) key anywhere (after a PEM
 * certificate); key bags of a PKCS#12 keystore (not those inside its encrypted parts); in text, a
 * JWK's `"kty"` and a private member with its value, at any size; a file that starts like an OpenSSH
 * blob, a JWK (set) with private members (up to 64 KiB, parsed, BOM and any depth), or a first DER
 * element that parses as PKCS#8 (also encrypted) / SEC1 / PKCS#1 whatever follows it.
 * Not looked into: compressed or proprietary containers (gzip, deflated zip, JKS/JCEKS, binary
 * OpenPGP), UTF-16 text, bare base64 or hex of DER, JWK members in YAML.
 * `finish()` returns the kind found, or null.
 */
export class PrivateKeyScanner {
  private carry = Buffer.alloc(0);
  private head: Buffer[] = [];
  private headSize = 0;
  private size = 0;
  private found: string | null = null;
  /** The markers this file is searched for beyond PEM and OpenSSH, chosen by its first chunk. */
  private extra: readonly (readonly [Buffer, string])[] | undefined;
  /** For text files: what of a JWK with private members was seen so far (see JWK_MEMBER_RE). */
  private jwk: { kty: boolean; member: boolean } | undefined;

  /** True once a key was found: the rest of the file need not be scanned. */
  get done(): boolean {
    return this.found !== null;
  }

  update(part: Buffer): void {
    this.size += part.length;
    if (this.headSize < 64 << 10) {
      const take = part.subarray(0, Math.min(part.length, (64 << 10) - this.headSize));
      this.head.push(Buffer.from(take));
      this.headSize += take.length;
    }
    if (this.found) return;
    // Byte searches first (memchr-fast) on the chunk and on the seam with the previous one; the regular
    // expression runs only on a window that holds "PRIVATE KEY", which every match of PEM_KEY_RE
    // contains. Same result as searching the whole file as one string, without copying every
    // megabyte (a whole-file copy was most of the scan's time).
    const seam = this.carry.length ? Buffer.concat([this.carry, part.subarray(0, 128)]) : undefined;
    const has = (needle: Buffer) => part.includes(needle) || (seam !== undefined && seam.includes(needle));
    if (has(PRIVATE_KEY_BYTES)) {
      const win = this.carry.length ? Buffer.concat([this.carry, part]) : part;
      const m = PEM_KEY_RE.exec(win.toString('latin1'));
      if (m) {
        this.found = m[1] === 'OPENSSH ' ? 'an OpenSSH private key' : `a PEM "${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}" block`;
        return;
      }
    }
    if (has(OPENSSH_B64_BYTES)) {
      this.found = 'an OpenSSH private key (openssh-key-v1)';
      return;
    }
    if (has(PUTTY_BYTES) && PUTTY_ANYWHERE_RE.test((this.carry.length ? Buffer.concat([this.carry, part]) : part).toString('latin1'))) {
      this.found = 'a PuTTY private key';
      return;
    }
    if (this.extra) {
      for (const [needle, what] of this.extra) {
        if (has(needle)) {
          this.found = what;
          return;
        }
      }
      this.scanJwk(part);
      if (seam) this.scanJwk(seam);
      if (this.found) return;
    } else if (this.headSize >= EXTRA_DECISION_BYTES) {
      this.decideExtra();
      if (this.found) return;
      this.scanExtra(part);
      if (this.found) return;
    }
    this.carry = Buffer.from(part.length >= 128 ? part.subarray(part.length - 128) : Buffer.concat([this.carry, part]).subarray(-128));
  }

  /**
   * The extra markers cost a pass each, so they are looked for only where they can be, as the file's
   * first bytes tell (the same whatever the chunk sizes): base64 in text (no NUL byte), DER bodies
   * in files that start as DER or as PEM. What was read before the decision is in `head`: scanned now.
   */
  private decideExtra(): void {
    const first = Buffer.concat(this.head);
    const start = first.subarray(0, EXTRA_DECISION_BYTES);
    const text = !start.includes(0);
    this.extra = [...(text ? BASE64_MARKERS : []), ...(start[0] === 0x30 || start.includes(PEM_BEGIN_BYTES) ? DER_KEY_MARKERS : [])];
    if (text) this.jwk = { kty: false, member: false };
    this.scanExtra(first);
  }

  private scanExtra(bytes: Buffer): void {
    for (const [needle, what] of this.extra ?? []) {
      if (bytes.includes(needle)) {
        this.found = what;
        return;
      }
    }
    this.scanJwk(bytes);
  }

  /** JWK members in text, chunk by chunk (see JWK_MEMBER_RE); found once both parts were seen. */
  private scanJwk(bytes: Buffer): void {
    const jwk = this.jwk;
    if (!jwk || this.found) return;
    jwk.kty ||= bytes.includes(JWK_KTY_BYTES);
    jwk.member ||= JWK_MEMBER_BYTES.some((n) => bytes.includes(n)) && JWK_MEMBER_RE.test(bytes.toString('latin1'));
    if (jwk.kty && jwk.member) this.found = 'a JWK with private members';
  }

  finish(): string | null {
    if (!this.found && !this.extra && this.size > 0) this.decideExtra();
    if (this.found) return this.found;
    if (this.size === 0) return null;
    const first = Buffer.concat(this.head);
    if (first.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) return 'an OpenSSH private key (openssh-key-v1)';
    if (PUTTY_RE.test(first.subarray(0, 64).toString('latin1'))) return 'a PuTTY private key';
    const json = first.toString('utf8').replace(/^\uFEFF/, '');
    if (this.size <= 64 << 10 && /^\s*[[{]/.test(json.slice(0, 16))) {
      try {
        if (privateJwk(JSON.parse(json))) return 'a JWK with private members';
      } catch {
        // not JSON
      }
    }
    const der = firstDerElement(first);
    if (der) {
      for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
        try {
          createPrivateKey({ key: der, format: 'der', type });
          return type === 'pkcs8' ? 'a PKCS#8 DER private key' : `a ${type.toUpperCase()} DER private key`;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE') return 'an encrypted PKCS#8 DER private key';
        }
      }
    }
    return null;
  }
}

/**
 * Look for private key material in a file (see PrivateKeyScanner), by name or through an open handle
 * (read from its start). Returns the kind found, or null.
 */
export async function detectPrivateKey(file: string, handle?: FileHandle): Promise<string | null> {
  const fh = handle ?? await open(file, 'r');
  try {
    const scanner = new PrivateKeyScanner();
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let position = 0; ; ) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      scanner.update(chunk.subarray(0, bytesRead));
      if (scanner.done) break;
    }
    return scanner.finish();
  } finally {
    if (!handle) await fh.close();
  }
}
