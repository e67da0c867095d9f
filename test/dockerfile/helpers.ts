import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDockerfile, type DockerfileCheckOptions } from '../../src/dockerfile';

export const D1 = `sha256:${'a1'.repeat(32)}`;
export const D2 = `sha256:${'b2'.repeat(32)}`;
export const BASE = `cleanstart/go:1.22-prod@${D1}`;
export const BUILDER = `golang:1.22@${D2}`;

/** `[code, line]` of every violation, in report order. */
export function found(text: string, opts: DockerfileCheckOptions = {}): Array<[string, number]> {
  return checkDockerfile(text, opts).map((v) => [v.code, v.line]);
}

/** Only the violations of one rule. */
export function of(code: string, text: string, opts: DockerfileCheckOptions = {}) {
  return checkDockerfile(text, opts).filter((v) => v.code === code);
}

/** A temp directory with files; returns its path. */
export function tree(files: Record<string, string>, prefix = 'cleanimg-df-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** A PEM private key made up for the test (its body is not a real key, the header is what is recognised). */
export function fakePrivateKey(kind = 'EC'): string {
  return `-----BEGIN ${kind} PRIVATE KEY-----\n${Buffer.from('not a real key, just test bytes').toString('base64')}\n-----END ${kind} PRIVATE KEY-----\n`;
}
