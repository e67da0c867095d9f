/** trust_ca and trust_env in the spec format: accepted shapes, and schema errors that name the field. */
import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import { parseSpec, specDigest } from '../../../src/customize/spec';

const BASE = `base_image: "example.com/base@sha256:${'b'.repeat(64)}"\narch: amd64\n`;

function problems(text: string) {
  try {
    parseSpec(text, 'spec.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems;
  }
  throw new Error('expected a CleanimgError');
}

describe('trust_ca in the spec', () => {
  it('accepts trust_ca without copy_files; trust_env true means SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE', () => {
    const s = parseSpec(`${BASE}trust_ca: [certs/corp.crt]\ntrust_env: true\n`);
    expect(s.trust_ca).toEqual(['certs/corp.crt']);
    expect(s.copy_files).toEqual([]);
    expect(s.trust_env).toEqual(['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE']);
  });

  it('a trust_env list is kept in a fixed order without repeats; false sets nothing', () => {
    expect(parseSpec(`${BASE}trust_ca: [a.crt]\ntrust_env: [PGSSLROOTCERT, SSL_CERT_DIR, PGSSLROOTCERT]\n`).trust_env).toEqual(['SSL_CERT_DIR', 'PGSSLROOTCERT']);
    expect(parseSpec(`${BASE}trust_ca: [a.crt]\ntrust_env: false\n`).trust_env).toBeUndefined();
  });

  it('a spec without trust_ca keeps its digest (the fields are absent, not empty)', () => {
    const s = parseSpec(`${BASE}copy_files: [{source: a, destination: /a}]\n`);
    expect('trust_ca' in s).toBe(false);
    expect('trust_env' in s).toBe(false);
    expect(specDigest(s)).toBe(specDigest(parseSpec(`${BASE}copy_files:\n  - source: a\n    destination: /a\n`)));
  });

  it('errors name the field', () => {
    expect(problems(BASE)).toEqual([expect.objectContaining({ code: 'SPEC002', path: 'copy_files', message: 'required field is missing', fix: expect.stringMatching(/trust_ca/) })]);
    expect(problems(`${BASE}trust_ca: certs/corp.crt\n`)[0]).toMatchObject({ code: 'SPEC002', path: 'trust_ca', fix: expect.stringMatching(/trust_ca: \[/) });
    expect(problems(`${BASE}trust_ca: []\n`)[0]).toMatchObject({ code: 'SPEC002', path: 'trust_ca', message: 'trust_ca needs at least one CA file' });
    expect(problems(`${BASE}trust_ca: [a.crt, 7]\n`)[0]).toMatchObject({ code: 'SPEC002', path: 'trust_ca[1]' });
    expect(problems(`${BASE}trust_ca: [a.crt]\ntrust_env: [SSL_CERT_FILE, JAVA_HOME]\n`)[0]).toMatchObject({ code: 'SPEC008', path: 'trust_env', message: expect.stringMatching(/"JAVA_HOME"/) });
    expect(problems(`${BASE}trust_ca: [a.crt]\ntrust_env: yes please\n`)[0]).toMatchObject({ code: 'SPEC002', path: 'trust_env' });
    expect(problems(`${BASE}trust_cas: [a.crt]\n`).find((p) => p.code === 'SPEC003')).toMatchObject({ path: 'trust_cas', fix: expect.stringMatching(/did you mean "trust_ca"/) });
  });
});
