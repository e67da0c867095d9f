/**
 * Small X.509 helpers for the trust store: PEM blocks, a DER reader just deep enough to find a
 * certificate's issuer and subject names, and OpenSSL's subject-name hash (`openssl x509 -subject_hash`,
 * the `<hash>.0` names of a CApath folder).
 *
 * The hash, as OpenSSL computes it (X509_NAME_hash_ex over the "canonical encoding" of x509_name_canon):
 * every attribute value of a string type (UTF8String, PrintableString, T61String, IA5String,
 * VisibleString, UniversalString, BMPString) is converted to UTF-8, leading and trailing ASCII white
 * space is removed, runs of white space become one space, ASCII letters are lower-cased, and it is
 * re-encoded as a UTF8String; values of other types are kept as they are. Each RDN is DER-encoded as a
 * SET (its attributes sorted as DER requires) and the SETs are concatenated without the outer
 * SEQUENCE. The hash is the first four bytes of the SHA-1 of that, read as a little-endian number,
 * printed as 8 lower-case hex digits. A test checks it against the real `openssl` CLI.
 */
import { createHash, X509Certificate } from 'node:crypto';

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** The DER bytes of every `CERTIFICATE` PEM block in `text`, in order. */
export function pemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_CERT_RE)) out.push(Buffer.from(m[1]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'));
  return out;
}

/** PEM text of a DER certificate: base64 in 64-character lines, `\n` line ends, ending with a newline. */
export function toPem(der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** sha256 of the DER bytes, hex: how duplicates are recognised. */
export function derFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the contents. */
  readonly body: number;
  readonly end: number;
}

function readTlv(buf: Buffer, off: number, limit = buf.length): Tlv {
  if (off + 2 > limit) throw new Error('truncated DER');
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('high tag numbers are not used in names');
  let len = buf[off + 1]!;
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new Error('truncated DER');
  return { tag, start: off, body, end };
}

function children(buf: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = t.body; off < t.end; ) {
    const c = readTlv(buf, off, t.end);
    out.push(c);
    off = c.end;
  }
  return out;
}

function encodeTlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let head: number[];
  if (n < 0x80) head = [tag, n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    head = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(head), body]);
}

/** The DER of a certificate's issuer and subject Names (the whole TLVs). */
export function certificateNames(der: Buffer): { issuer: Buffer; subject: Buffer } {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  if (!tbs || tbs.tag !== 0x30) throw new Error('not a certificate');
  const parts = children(der, tbs);
  let i = parts[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  i += 2; // serialNumber, signature algorithm
  const issuer = parts[i];
  const subject = parts[i + 2]; // validity in between
  if (!issuer || !subject || issuer.tag !== 0x30 || subject.tag !== 0x30) throw new Error('not a certificate');
  return { issuer: der.subarray(issuer.start, issuer.end), subject: der.subarray(subject.start, subject.end) };
}

/** Tags OpenSSL canonicalises (ASN1_MASK_CANON): UTF8, Printable, T61, IA5, Visible, Universal, BMP. */
const CANON_TAGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e]);

function toUtf8(tag: number, v: Buffer): Buffer {
  switch (tag) {
    case 0x0c:
      return Buffer.from(v);
    case 0x1e: {
      // BMPString: UCS-2 big endian
      let s = '';
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode(v.readUInt16BE(i));
      return Buffer.from(s, 'utf8');
    }
    case 0x1c: {
      // UniversalString: UCS-4 big endian
      let s = '';
      for (let i = 0; i + 3 < v.length; i += 4) s += String.fromCodePoint(v.readUInt32BE(i));
      return Buffer.from(s, 'utf8');
    }
    default:
      // Printable, IA5, Visible are ASCII; T61 is read as Latin-1, as OpenSSL does.
      return Buffer.from(v.toString('latin1'), 'utf8');
  }
}

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** asn1_string_canon: trim, collapse white space, lower-case ASCII; bytes >= 0x80 are copied. */
function canonValue(utf8: Buffer): Buffer {
  let from = 0;
  let to = utf8.length;
  while (from < to && isSpace(utf8[from]!)) from++;
  while (to > from && isSpace(utf8[to - 1]!)) to--;
  const out: number[] = [];
  for (let i = from; i < to; ) {
    const c = utf8[i]!;
    if (c >= 0x80) {
      out.push(c);
      i++;
    } else if (isSpace(c)) {
      out.push(0x20);
      while (i < to && isSpace(utf8[i]!)) i++;
    } else {
      out.push(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
      i++;
    }
  }
  return Buffer.from(out);
}

/** DER SET OF order: byte-wise, a shorter encoding that is a prefix sorts first. */
function derCompare(a: Buffer, b: Buffer): number {
  const c = Buffer.compare(a.subarray(0, Math.min(a.length, b.length)), b.subarray(0, Math.min(a.length, b.length)));
  return c !== 0 ? c : a.length - b.length;
}

/** The canonical encoding OpenSSL hashes, for a DER Name. */
export function canonicalName(name: Buffer): Buffer {
  const top = readTlv(name, 0);
  const sets: Buffer[] = [];
  for (const rdn of children(name, top)) {
    const atvs: Buffer[] = [];
    for (const atv of children(name, rdn)) {
      const [oid, value] = children(name, atv);
      if (!oid || !value) throw new Error('malformed name attribute');
      const oidDer = name.subarray(oid.start, oid.end);
      const valueDer = CANON_TAGS.has(value.tag)
        ? encodeTlv(0x0c, canonValue(toUtf8(value.tag, name.subarray(value.body, value.end))))
        : name.subarray(value.start, value.end);
      atvs.push(encodeTlv(0x30, Buffer.concat([oidDer, valueDer])));
    }
    atvs.sort(derCompare);
    sets.push(encodeTlv(0x31, Buffer.concat(atvs)));
  }
  return Buffer.concat(sets);
}

/** OpenSSL's hash of a DER Name (X509_NAME_hash_ex), as 8 hex digits. */
export function nameHash(name: Buffer): string {
  const md = createHash('sha1').update(canonicalName(name)).digest();
  return md.readUInt32LE(0).toString(16).padStart(8, '0');
}

/** `openssl x509 -subject_hash` of a certificate (DER or X509Certificate). */
export function subjectHash(cert: Buffer | X509Certificate): string {
  return nameHash(certificateNames(Buffer.isBuffer(cert) ? cert : cert.raw).subject);
}

/** `openssl x509 -issuer_hash`: the name a CApath lookup for this certificate's issuer uses. */
export function issuerHash(cert: Buffer | X509Certificate): string {
  return nameHash(certificateNames(Buffer.isBuffer(cert) ? cert : cert.raw).issuer);
}

/** One line for people: the subject as `CN=..., O=...`. */
export function describeSubject(c: X509Certificate): string {
  return c.subject.split('\n').filter(Boolean).join(', ');
}
