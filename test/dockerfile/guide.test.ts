/**
 * Every Dockerfile of the guide (cleanstart-build-time-customization), transcribed line by line
 * into test/fixtures/dockerfiles/guide-*.Dockerfile, and exactly what the rules say about each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDockerfile } from '../../src/dockerfile';

const DIR = join(__dirname, '..', 'fixtures', 'dockerfiles');

/** Fixture → the violations expected, as `CODE:line`. */
const EXPECTED: Record<string, string[]> = {
  // Part 2, approach 1, example 1: COPY only. Its one fault is the placeholder digest.
  'guide-1-postgres-copy.Dockerfile': ['DF001:2'],
  // Example 2: copies the private-key directory into the image, and RUNs chmod in a shell-less image.
  'guide-2-nginx-chmod.Dockerfile': ['DF001:1', 'DF008:5', 'DF003:11'],
  // Example 3: both bases carry placeholder digests (abc123..., xyz789...).
  'guide-3-python-pip.Dockerfile': ['DF002:2', 'DF001:13'],
  // Approach 2, example 1: builder golang:1.21 is unpinned.
  'guide-4-go.Dockerfile': ['DF002:2', 'DF001:11'],
  // Example 2: builder python:3.11 is unpinned.
  'guide-5-python-venv.Dockerfile': ['DF002:2', 'DF001:17'],
  // Example 3: `RUN npm ci --only=production` in the final stage cannot run there.
  'guide-6-node.Dockerfile': ['DF002:2', 'DF001:16', 'DF003:22'],
  // Part 5, example 1: RUN chown in the final stage.
  'guide-7-postgres-chown.Dockerfile': ['DF001:1', 'DF003:10'],
  // Part 5, example 2: the builder's apt-get/pip are fine; the builder image is unpinned.
  'guide-8-python-webapp.Dockerfile': ['DF002:2', 'DF001:21'],
  // Part 5, example 3: copies server.key into /etc/ssl/private (two findings on line 5) and RUNs chmod.
  'guide-9-nginx-tls.Dockerfile': ['DF001:1', 'DF008:5', 'DF008:5', 'DF003:11'],
};

describe('the guide\'s Dockerfiles', () => {
  it('are all transcribed (nine)', () => {
    expect(readdirSync(DIR).filter((f) => f.startsWith('guide-')).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file}: ${expected.join(', ')}`, () => {
      const vs = checkDockerfile(readFileSync(join(DIR, file), 'utf8'), { name: file });
      expect(vs.map((v) => `${v.code}:${v.line}`)).toEqual(expected);
      for (const v of vs) {
        expect(v.path).toBe(`${file}:${v.line}`);
        expect(v.fix.length).toBeGreaterThan(10);
      }
    });
  }

  it('explains the faults the guide hides: placeholder digests, npm ci and chmod in a shell-less stage', () => {
    const node = checkDockerfile(readFileSync(join(DIR, 'guide-6-node.Dockerfile'), 'utf8'));
    expect(node.find((v) => v.code === 'DF003')!.message).toMatch(/RUN npm ci --only=production --no-audit runs in the final stage, which has no shell/);
    expect(node.find((v) => v.code === 'DF003')!.fix).toMatch(/npm ci --omit=dev/);
    expect(node.find((v) => v.code === 'DF001')!.message).toMatch(/malformed digest "sha256:abc123\.\.\."/);
    const nginx = checkDockerfile(readFileSync(join(DIR, 'guide-9-nginx-tls.Dockerfile'), 'utf8'));
    expect(nginx.filter((v) => v.code === 'DF008').map((v) => v.message)).toEqual([
      expect.stringMatching(/copies into \/etc\/ssl\/private/),
      expect.stringMatching(/"tls\/server.key" is a private key file/),
    ]);
    expect(nginx.find((v) => v.code === 'DF003')!.fix).toMatch(/COPY --chmod/);
  });

  it('with an allowed base family, the guide\'s CleanStart bases pass that part', () => {
    const vs = checkDockerfile(readFileSync(join(DIR, 'guide-4-go.Dockerfile'), 'utf8'), { allowedBases: ['cleanstart/'] });
    expect(vs.map((v) => v.code)).toEqual(['DF002', 'DF001']);
    expect(vs[1]!.message).not.toMatch(/allowed base family/);
  });
});
