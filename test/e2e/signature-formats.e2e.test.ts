// Both signature formats, both ways, with real cosign v3 (and v2 for the .sig format), on both
// registries of the tier (Debian's docker-registry 2.8 and distribution v3; neither serves the OCI
// referrers API, so bundles go under the `sha256-<hex>` fallback tag, as cosign puts them):
// - `cleanimg-customize sign --signature-format bundle|legacy` → `cosign verify --key` passes, and
//   fails under another key;
// - `cosign sign` in its bundle format (v3's default) and in the .sig format → our `verify --key`
//   passes, and fails under another key;
// - `build --push --sign-key`: by default the .sig format, read by cosign v2 and v3 offline without
//   flags; with `--signature-format both`, cosign v3 reads the bundle, while cosign v2.6 turns to the
//   bundle too and then needs a trusted root (`--trusted-root`): why the default is the .sig format;
// - `build --attest`, in the .sig/.att format and in the bundle format: the SBOM and provenance
//   statements pass `cosign verify-attestation --type cyclonedx|slsaprovenance1` (v2 and v3 for
//   .att, v3 for bundles) and `verify --attestations`, and fail under another key.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './support/pulumi';
import { pushSmallImage } from './support/image';
import { startRegistry, type Registry } from './support/registry';
import { run, runOk, skipWithout, tool } from './support/tools';

const CLI = join(REPO, 'lib', 'cli', 'bin.js');
const INSECURE = ['--allow-insecure-registry', '--allow-http-registry'];

for (const impl of ['docker-registry', 'distribution-registry'] as const) {
  describe.skipIf(skipWithout(['cosign-v3', 'cosign-v2', impl, 'skopeo', 'umoci']))(`signature formats with real cosign on ${impl}`, () => {
    let reg: Registry;
    let dir: string;
    let other: string;
    const env = () => ({ PATH: process.env.PATH, HOME: dir, COSIGN_PASSWORD: 'e2e-pw', TUF_ROOT: join(dir, 'tuf') });
    let n = 0;
    const image = async () => pushSmallImage(reg.host, `e2e/fmt${++n}`, 'v1', `image ${n} on ${impl}\n`);
    const cosignVerify = (major: 'v2' | 'v3', pub: string, ref: string, extra: string[] = []) =>
      run(tool(`cosign-${major}`), ['verify', '--key', pub, '--insecure-ignore-tlog', ...INSECURE, ...extra, ref], { cwd: dir, env: env() });
    const ourVerify = (pub: string, ref: string) => run('node', [CLI, 'verify', '--key', pub, '--json', ref]);
    /** `build --push --sign-key` of a one-file spec on the embedded base, with `extra` flags; its JSON report. */
    const buildSigned = async <T>(name: string, content: string, extra: string[]): Promise<T> => {
      const base = join(dir, 'base');
      const ref = (await runOk('node', [CLI, 'base', '--output-layout', base])).stdout.split('\n')[0]!.trim();
      const specDir = join(dir, `spec-${name}`);
      mkdirSync(specDir, { recursive: true });
      writeFileSync(join(specDir, 'app.conf'), content);
      writeFileSync(join(specDir, 'spec.yaml'), `base_image: "${ref}"\narch: amd64\ncopy_files:\n  - {source: app.conf, destination: /etc/app/app.conf}\n`);
      const args = ['build', '--spec', join(specDir, 'spec.yaml'), '--tag', `${reg.host}/e2e/${name}:1`, '--push', '--base-layout', base, '--sign-key', join(dir, 'cosign.key'), ...extra, '--json'];
      const b = await run('node', [CLI, ...args], { env: { ...env(), CLEANIMG_CACHE_DIR: join(dir, 'cache') } });
      expect(b.code, b.stdout + b.stderr).toBe(0);
      return JSON.parse(b.stdout) as T;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `cleanimg-e2e-sigfmt-${impl}-`));
      other = join(dir, 'other');
      mkdirSync(other);
      reg = await startRegistry(impl);
      await runOk(tool('cosign-v3'), ['generate-key-pair'], { cwd: dir, env: env() });
      await runOk(tool('cosign-v3'), ['generate-key-pair'], { cwd: other, env: { ...env(), HOME: other } });
    }, 120_000);
    afterAll(async () => {
      await reg?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('we sign in the bundle format: cosign v3 verifies it, and refuses it under another key', async () => {
      const img = await image();
      const s = await run('node', [CLI, 'sign', '--key', join(dir, 'cosign.key'), '--signature-format', 'bundle', '--json', img.digestRef], { env: env() });
      expect(s.code, s.stdout + s.stderr).toBe(0);
      expect(JSON.parse(s.stdout)).toMatchObject({ signature: null, bundleSignature: { appended: true, via: 'fallback-tag' } });
      const ok = await cosignVerify('v3', join(dir, 'cosign.pub'), img.digestRef);
      expect(ok.code, ok.stderr).toBe(0);
      const bad = await cosignVerify('v3', join(other, 'cosign.pub'), img.digestRef);
      expect(bad.code).not.toBe(0);
    });

    it('we sign in the .sig format: cosign v3 and v2 verify it', async () => {
      const img = await image();
      await runOk('node', [CLI, 'sign', '--key', join(dir, 'cosign.key'), '--signature-format', 'legacy', img.digestRef], { env: env() });
      const v3 = await cosignVerify('v3', join(dir, 'cosign.pub'), img.digestRef, ['--new-bundle-format=false']);
      expect(v3.code, v3.stderr).toBe(0);
      const v2 = await cosignVerify('v2', join(dir, 'cosign.pub'), img.digestRef);
      expect(v2.code, v2.stderr).toBe(0);
    });

    it('cosign v3 signs in its bundle format and in the .sig format: we verify both, and refuse another key', async () => {
      for (const legacy of [false, true]) {
        const img = await image();
        const signArgs = ['sign', '--yes', '--key', 'cosign.key', '--tlog-upload=false', '--use-signing-config=false', ...(legacy ? ['--new-bundle-format=false'] : []), ...INSECURE, img.digestRef];
        const s = await run(tool('cosign-v3'), signArgs, { cwd: dir, env: env() });
        expect(s.code, s.stderr).toBe(0);
        const ours = await ourVerify(join(dir, 'cosign.pub'), img.digestRef);
        expect(ours.code, ours.stdout).toBe(0);
        const report = JSON.parse(ours.stdout) as { signature: { verified: boolean; lines: string[] } };
        expect(report.signature.lines.join('\n')).toMatch(legacy ? /valid: cosign signature/ : /valid: Sigstore bundle signature/);
        const bad = await ourVerify(join(other, 'cosign.pub'), img.digestRef);
        expect(bad.code).toBe(1);
      }
    });

    it('build --push --sign-key --signature-format both: cosign v3 reads the bundle, cosign v2 needs a trusted root for it', async () => {
      const out = await buildSigned<{ image: string; signature: { appended: boolean }; bundleSignature: { appended: boolean } }>('both', 'both formats\n', ['--signature-format', 'both']);
      expect(out.signature.appended && out.bundleSignature.appended).toBe(true);
      const v3 = await cosignVerify('v3', join(dir, 'cosign.pub'), out.image);
      expect(v3.code, v3.stderr).toBe(0);
      // cosign v2.6 turns to the bundle once one is attached (even with --new-bundle-format=false)
      // and then wants a Sigstore trusted root, which offline it cannot fetch; an empty one will do
      // with a key. This is why the default format is legacy.
      const v2auto = await cosignVerify('v2', join(dir, 'cosign.pub'), out.image);
      expect(v2auto.code).not.toBe(0);
      expect(v2auto.stderr).toMatch(/trusted root is required when using new bundle format/);
      writeFileSync(join(dir, 'trusted-root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));
      const v2 = await cosignVerify('v2', join(dir, 'cosign.pub'), out.image, ['--trusted-root', join(dir, 'trusted-root.json')]);
      expect(v2.code, v2.stderr).toBe(0);
    });

    it('build --attest (bundle format): cosign v3 verify-attestation passes for cyclonedx and slsaprovenance1; verify --attestations too; the statements are the same on a rebuild', async () => {
      type Report = { image: string; attestations: Array<{ predicateType: string; appended: boolean; format: string }> };
      const build = () => buildSigned<Report>('attested', 'attested\n', ['--signature-format', 'bundle', '--attest']);
      const out = await build();
      expect(out.attestations.map((a) => [a.predicateType, a.format, a.appended])).toEqual([['https://cyclonedx.org/bom', 'bundle', true], ['https://slsa.dev/provenance/v1', 'bundle', true]]);
      const payloads: Record<string, unknown> = {};
      for (const type of ['cyclonedx', 'slsaprovenance1']) {
        const v = await run(tool('cosign-v3'), ['verify-attestation', '--key', join(dir, 'cosign.pub'), '--insecure-ignore-tlog', '--type', type, ...INSECURE, out.image], { cwd: dir, env: env() });
        expect(v.code, `${type}: ${v.stderr}`).toBe(0);
        payloads[type] = JSON.parse(Buffer.from((JSON.parse(v.stdout.trim().split('\n')[0]!) as { payload: string }).payload, 'base64').toString());
        const bad = await run(tool('cosign-v3'), ['verify-attestation', '--key', join(other, 'cosign.pub'), '--insecure-ignore-tlog', '--type', type, ...INSECURE, out.image], { cwd: dir, env: env() });
        expect(bad.code).not.toBe(0);
      }
      const sbom = payloads.cyclonedx as { predicate: { components: Array<{ name: string; hashes?: Array<{ content: string }> }> }; subject: Array<{ digest: { sha256: string } }> };
      expect(sbom.subject[0]!.digest.sha256).toBe(out.image.split('@sha256:')[1]);
      expect(sbom.predicate.components.map((c) => c.name)).toContain('/etc/app/app.conf');
      const prov = payloads.slsaprovenance1 as { predicate: { buildDefinition: { resolvedDependencies: Array<{ name?: string; uri?: string }> } } };
      expect(prov.predicate.buildDefinition.resolvedDependencies.map((d) => d.name ?? d.uri)).toEqual([expect.stringMatching(/^oci:\/\//), 'app.conf']);
      const ours = await run('node', [CLI, 'verify', '--key', join(dir, 'cosign.pub'), '--attestations', '--json', out.image]);
      expect(ours.code, ours.stdout).toBe(0);
      const bad = await run('node', [CLI, 'verify', '--key', join(other, 'cosign.pub'), '--attestations', '--json', out.image]);
      expect(bad.code).toBe(1);
      // The same build again: the image and the statements are the same, so nothing is added.
      const again = await build();
      expect(again.image).toBe(out.image);
      expect(again.attestations.map((a) => a.appended)).toEqual([false, false]);
    });

    it('build --attest (default .sig format): the attestations go to the .att tag; cosign v2 and v3 verify-attestation pass, another key fails; a rebuild adds nothing', async () => {
      type Report = { image: string; attestations: Array<{ predicateType: string; appended: boolean; format: string; tag: string }> };
      const build = () => buildSigned<Report>('attested-legacy', 'attested, legacy\n', ['--attest']);
      const out = await build();
      const hex = out.image.split('@sha256:')[1];
      expect(out.attestations.map((a) => [a.predicateType, a.format, a.tag, a.appended])).toEqual([
        ['https://cyclonedx.org/bom', 'legacy', `sha256-${hex}.att`, true],
        ['https://slsa.dev/provenance/v1', 'legacy', `sha256-${hex}.att`, true],
      ]);
      for (const major of ['v2', 'v3'] as const) {
        for (const type of ['cyclonedx', 'slsaprovenance1']) {
          const v = await run(tool(`cosign-${major}`), ['verify-attestation', '--key', join(dir, 'cosign.pub'), '--insecure-ignore-tlog', '--type', type, ...INSECURE, out.image], { cwd: dir, env: env() });
          expect(v.code, `${major} ${type}: ${v.stderr}`).toBe(0);
          const bad = await run(tool(`cosign-${major}`), ['verify-attestation', '--key', join(other, 'cosign.pub'), '--insecure-ignore-tlog', '--type', type, ...INSECURE, out.image], { cwd: dir, env: env() });
          expect(bad.code, `${major} ${type} under another key`).not.toBe(0);
        }
      }
      const ours = await run('node', [CLI, 'verify', '--key', join(dir, 'cosign.pub'), '--attestations', '--json', out.image]);
      expect(ours.code, ours.stdout).toBe(0);
      expect((JSON.parse(ours.stdout) as { attestations: Array<{ formats: string[] }> }).attestations.map((a) => a.formats)).toEqual([['legacy'], ['legacy']]);
      const again = await build();
      expect(again.attestations.map((a) => a.appended)).toEqual([false, false]);
    });

    it('build --push --sign-key signs in the .sig format by default, which cosign v2 reads offline without flags', async () => {
      const out = await buildSigned<{ image: string; signature: { appended: boolean } | null; bundleSignature: unknown }>('default', 'default format\n', []);
      expect(out.signature?.appended).toBe(true);
      expect(out.bundleSignature).toBeNull();
      for (const major of ['v2', 'v3'] as const) {
        const v = await cosignVerify(major, join(dir, 'cosign.pub'), out.image);
        expect(v.code, `${major}: ${v.stderr}`).toBe(0);
      }
    });
  });
}
