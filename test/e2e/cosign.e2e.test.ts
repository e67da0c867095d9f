// (d) Real cosign against a real registry: a key pair made by cosign, a small image pushed
// with skopeo to Debian's docker-registry on 127.0.0.1, signed offline, verified; and the
// verification fails for another key and for an unsigned image (the check can fail).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSmallImage, type PushedImage } from './support/image';
import { startRegistry, type Registry } from './support/registry';
import { run, runOk, skipWithout, tool } from './support/tools';

const BASE_TOOLS = ['docker-registry', 'skopeo', 'umoci'] as const;

/** Flags for a plain-HTTP registry on 127.0.0.1 and no transparency log. */
const REG = ['--allow-insecure-registry', '--allow-http-registry'];

function cosignEnv(home: string, password: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    COSIGN_PASSWORD: password,
    // Offline: never reach for the public-good instance or its TUF root.
    COSIGN_EXPERIMENTAL: '0',
    TUF_ROOT: join(home, '.sigstore', 'root'),
  };
}

async function keyPair(cosign: string, dir: string, password: string) {
  const r = await runOk(cosign, ['generate-key-pair'], { cwd: dir, env: cosignEnv(dir, password) });
  const pub = readFileSync(join(dir, 'cosign.pub'), 'utf8');
  const key = readFileSync(join(dir, 'cosign.key'), 'utf8');
  return { r, pub, key, pubPath: join(dir, 'cosign.pub'), keyPath: join(dir, 'cosign.key') };
}

for (const major of ['v2', 'v3'] as const) {
  const cosignName = `cosign-${major}`;
  // v3 signs with a signing config (Fulcio/Rekor URLs) unless told not to.
  const signOffline = major === 'v3' ? ['--tlog-upload=false', '--use-signing-config=false'] : ['--tlog-upload=false'];

  describe.skipIf(skipWithout([cosignName, ...BASE_TOOLS]))(`real cosign ${major}: sign and verify offline`, () => {
    let reg: Registry;
    let dir: string;
    let signed: PushedImage;
    let unsigned: PushedImage;
    let cosign: string;
    const password = `pw-${Math.random().toString(36).slice(2)}`;

    beforeAll(async () => {
      cosign = tool(cosignName);
      dir = mkdtempSync(join(tmpdir(), `cleanimg-e2e-cosign-${major}-`));
      reg = await startRegistry('docker-registry');
      signed = await pushSmallImage(reg.host, 'e2e/signed', 'v1', `signed by cosign ${major}\n`);
      unsigned = await pushSmallImage(reg.host, 'e2e/unsigned', 'v1', `never signed ${major}\n`);
    });

    afterAll(async () => {
      await reg?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('generates an encrypted key pair with COSIGN_PASSWORD', async () => {
      const kp = await keyPair(cosign, dir, password);
      expect(kp.key).toContain('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----');
      expect(kp.pub).toContain('-----BEGIN PUBLIC KEY-----');
      // The private key is encrypted: the password never appears in it.
      expect(kp.key).not.toContain(password);
    });

    it('signs the image by digest offline and verifies it with the public key', async () => {
      const env = cosignEnv(dir, password);
      const sign = await run(cosign, ['sign', '--yes', '--key', join(dir, 'cosign.key'), ...signOffline, ...REG, signed.digestRef], { env, cwd: dir });
      expect(sign.code, sign.stderr).toBe(0);

      const verify = await run(
        cosign,
        ['verify', '--key', join(dir, 'cosign.pub'), '--insecure-ignore-tlog', ...REG, '--output', 'json', signed.digestRef],
        { env, cwd: dir },
      );
      expect(verify.code, verify.stderr).toBe(0);
      const payloads = JSON.parse(verify.stdout) as { critical: { image: { 'docker-manifest-digest': string }; identity: { 'docker-reference': string } } }[];
      expect(payloads.length).toBeGreaterThan(0);
      expect(payloads[0]!.critical.image['docker-manifest-digest']).toBe(signed.digest);
      // A format difference between majors: v2 names the repository, v3 the repository@digest.
      const ref = major === 'v2' ? `${reg.host}/e2e/signed` : `${reg.host}/e2e/signed@${signed.digest}`;
      expect(payloads[0]!.critical.identity['docker-reference']).toBe(ref);
    });

    it('the signature is in the registry where skopeo can see it', async () => {
      const tags = JSON.parse((await runOk(tool('skopeo'), ['list-tags', '--tls-verify=false', `docker://${reg.host}/e2e/signed`])).stdout) as { Tags: string[] };
      const hex = signed.digest.slice('sha256:'.length);
      // v2: the classic signature tag. v3: the new bundle format, attached through the OCI
      // referrers tag fallback (this registry has no referrers API).
      const expected = major === 'v2' ? `sha256-${hex}.sig` : `sha256-${hex}`;
      expect(tags.Tags.sort()).toEqual([expected, 'v1'].sort());
    });

    it('verification fails with another key', async () => {
      const other = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-cosign-other-'));
      try {
        await keyPair(cosign, other, 'another-password');
        const verify = await run(cosign, ['verify', '--key', join(other, 'cosign.pub'), '--insecure-ignore-tlog', ...REG, signed.digestRef], {
          env: cosignEnv(other, 'another-password'),
          cwd: other,
        });
        expect(verify.code).not.toBe(0);
        expect(verify.stderr).toMatch(/no matching signatures|invalid signature|failed to verify/i);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('verification fails for an unsigned image', async () => {
      const verify = await run(cosign, ['verify', '--key', join(dir, 'cosign.pub'), '--insecure-ignore-tlog', ...REG, unsigned.digestRef], {
        env: cosignEnv(dir, password),
        cwd: dir,
      });
      expect(verify.code).not.toBe(0);
      expect(verify.stderr).toMatch(/no signatures found|no matching signatures/i);
    });

    // Only in the v3 suite; needs cosign-v2 too (a failure in CI when it is missing).
    if (major === 'v3') {
      it.skipIf(skipWithout(['cosign-v2']))('cosign v3 verifies a signature made by cosign v2', async () => {
        // v2 signs in the classic .sig tag layout; v3 must still read it.
        const v2 = tool('cosign-v2');
        const img = await pushSmallImage(reg.host, 'e2e/cross', 'v1', 'signed by v2, verified by v3\n');
        const env = cosignEnv(dir, password);
        const sign = await run(v2, ['sign', '--yes', '--key', join(dir, 'cosign.key'), '--tlog-upload=false', ...REG, img.digestRef], { env, cwd: dir });
        expect(sign.code, sign.stderr).toBe(0);
        const verify = await run(cosign, ['verify', '--key', join(dir, 'cosign.pub'), '--insecure-ignore-tlog', ...REG, img.digestRef], { env, cwd: dir });
        expect(verify.code, verify.stderr).toBe(0);
      });
    }
  });
}
