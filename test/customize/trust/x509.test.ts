/**
 * OpenSSL's subject hash, computed by us, against the real `openssl x509 -subject_hash` on Debian's CA
 * bundle (real-world names: PrintableString, UTF8String, BMPString, multi-valued RDNs) and on names made
 * to exercise the canonical form (case, runs of spaces, leading/trailing spaces, multi-valued RDNs, UTF-8).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalName, certificateNames, issuerHash, pemCertificates, subjectHash, toPem } from '../../../src/customize/trust/x509';
import { run } from './support';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cleanimg-x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opensslHash(der: Buffer, which: 'subject' | 'issuer' = 'subject'): string {
  return run('openssl', ['x509', '-inform', 'der', '-noout', `-${which}_hash`], { input: der }).trim();
}

describe('subjectHash', () => {
  it('matches the names openssl rehash gave every CA in this machine\'s /etc/ssl/certs', () => {
    // update-ca-certificates names each link <openssl subject hash>.N: a real OpenSSL result per CA.
    const links = readdirSync('/etc/ssl/certs').filter((n) => /^[0-9a-f]{8}\.[0-9]+$/.test(n));
    expect(links.length).toBeGreaterThan(100);
    const wrong = links.filter((n) => subjectHash(pemCertificates(readFileSync(path.join('/etc/ssl/certs', n), 'latin1'))[0]!) !== n.split('.')[0]);
    expect(wrong).toEqual([]);
  });

  it('matches openssl x509 -subject_hash on a sample of Debian\'s bundle', () => {
    const ders = pemCertificates(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'latin1'));
    const sample = ders.filter((_, i) => i % 15 === 0);
    expect(sample.map((d) => subjectHash(d))).toEqual(sample.map((d) => opensslHash(d)));
  });

  const odd: [string, string[]][] = [
    ['upper case and runs of spaces', ['-subj', '/CN=  Corporate   ROOT\tCA  /O=Example  Corp']],
    ['a multi-valued RDN', ['-multivalue-rdn', '-subj', '/CN=Zeta+OU=alpha/O=Multi']],
    ['UTF-8 characters', ['-utf8', '-subj', '/CN=Wurzel-ZS Münchën Ĳ/O=Ünïcode']],
    ['many attributes', ['-subj', '/C=DE/ST=Bayern/L=München/O=Ex/OU=PKI/CN=Issuing CA 01/emailAddress=pki@example.com']],
  ];
  for (const [what, subj] of odd) {
    it(`matches openssl for ${what}`, () => {
      const key = path.join(dir, 'k.pem');
      const crt = path.join(dir, `${what.replace(/\W/g, '_')}.crt`);
      run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
      run('openssl', ['req', '-x509', '-new', '-key', key, '-days', '2', ...subj, '-addext', 'basicConstraints=critical,CA:TRUE', '-out', crt]);
      const der = pemCertificates(readFileSync(crt, 'latin1'))[0]!;
      expect(subjectHash(der)).toBe(opensslHash(der));
      expect(issuerHash(der)).toBe(opensslHash(der, 'issuer'));
    });
  }

  it('canonical form: case and white space do not change the hash, other text does', () => {
    const key = path.join(dir, 'k2.pem');
    run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    const make = (subj: string) => {
      const crt = path.join(dir, `c${Math.random().toString(36).slice(2)}.crt`);
      run('openssl', ['req', '-x509', '-new', '-key', key, '-days', '2', '-subj', subj, '-out', crt]);
      return pemCertificates(readFileSync(crt, 'latin1'))[0]!;
    };
    const a = make('/CN=Same  Name/O=Org');
    const b = make('/CN= same name /O=ORG');
    const c = make('/CN=Other Name/O=Org');
    expect(canonicalName(certificateNames(a).subject).equals(canonicalName(certificateNames(b).subject))).toBe(true);
    expect(subjectHash(a)).toBe(subjectHash(b));
    expect(subjectHash(a)).not.toBe(subjectHash(c));
    expect(opensslHash(a)).toBe(opensslHash(b));
  });

  it('toPem re-encodes DER that openssl reads back unchanged', () => {
    const der = pemCertificates(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'latin1'))[0]!;
    const pem = toPem(der);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
    const back = Buffer.from(run('openssl', ['x509', '-outform', 'der'], { input: pem }), 'latin1');
    expect(pemCertificates(pem)[0]!.equals(der)).toBe(true);
    expect(back.length).toBeGreaterThan(0);
  });
});
