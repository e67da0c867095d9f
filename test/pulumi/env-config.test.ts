import * as pulumi from '@pulumi/pulumi';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { EnvConfig as Cdk8sEnvConfig } from '../../src/cdk8s';
import { CleanimgError } from '../../src/errors';
import { EnvConfig, SECRET_SOURCE_ANNOTATION } from '../../src/pulumi';
import { installMocks, secretValue, settle, valueOf } from './harness';
import { runFixture } from './run-fixture';
import { thrown } from '../support/expect-error';

const recorder = installMocks();
const inputsOf = recorder.inputsOf;


describe('EnvConfig (Pulumi)', () => {
  it('registers the content-hashed, immutable ConfigMap of the core, parented to the component', async () => {
    const cfg = new EnvConfig('app-config', { name: 'app', namespace: 'ns', data: { 'app.conf': 'a=1\n' }, mountPath: '/etc/app' });
    const [parentUrn, cmUrn] = await settle(cfg, cfg.configMap);
    expect(parentUrn).toContain('cleanimg:index:EnvConfig::app-config');
    expect(cmUrn).toContain('cleanimg:index:EnvConfig$kubernetes:core/v1:ConfigMap::app-config');
    const cm = inputsOf('kubernetes:core/v1:ConfigMap', 'app-config');
    expect(cm.metadata.name).toMatch(/^app-[0-9a-f]{10}$/);
    expect(cm.metadata.namespace).toBe('ns');
    expect(cm.immutable).toBe(true);
    expect(cm.data).toEqual({ 'app.conf': 'a=1\n' });
    expect(await valueOf(cfg.configMapName)).toBe(cm.metadata.name);
    expect(cfg.attachmentValue?.volumeMounts).toEqual([{ name: 'app-config', mountPath: '/etc/app', readOnly: true }]);
  });

  it('hashes the same content to the same name as the cdk8s EnvConfig, and a change of content to a new name', async () => {
    const props = { name: 'same', data: { k: 'v1' } };
    const chart = Testing.chart();
    const c = new Cdk8sEnvConfig(chart, 'c', props);
    const p = new EnvConfig('same', props);
    const p2 = new EnvConfig('same2', { name: 'same', data: { k: 'v2' } });
    expect(await valueOf(p.configMapName)).toBe(c.configMapName);
    expect(await valueOf(p2.configMapName)).not.toBe(c.configMapName);
  });

  it('accepts Outputs as contents and computes the same ConfigMap once they are known', async () => {
    const plain = new EnvConfig('plain', { name: 'outs', data: { k: 'value' } });
    const fromOutput = new EnvConfig('from-output', { name: 'outs', data: { k: pulumi.output('value') } });
    expect(fromOutput.attachmentValue).toBeUndefined();
    await settle(plain.configMap, fromOutput.configMap);
    expect(inputsOf('kubernetes:core/v1:ConfigMap', 'from-output')).toEqual(inputsOf('kubernetes:core/v1:ConfigMap', 'plain'));
    expect(await valueOf(fromOutput.attachment)).toEqual(plain.attachmentValue);
  });

  it('makes a Secret from Pulumi secrets whose data stays secret, mounted read-only as files', async () => {
    const password = pulumi.secret('s3cr3t-passw0rd');
    const cfg = new EnvConfig('db', { name: 'db', namespace: 'ns', managedSecret: { mountPath: '/var/run/secrets/db', data: { password } } });
    const [, secretUrn] = await settle(cfg, cfg.secret);
    expect(secretUrn).toContain('cleanimg:index:EnvConfig$kubernetes:core/v1:Secret::db-secret');
    expect(await pulumi.isSecret(cfg.secret!.data)).toBe(true);
    const inputs = inputsOf('kubernetes:core/v1:Secret', 'db-secret');
    expect(inputs.metadata).toMatchObject({ name: 'db-secret', namespace: 'ns', annotations: { [SECRET_SOURCE_ANNOTATION]: 'pulumi-secret' } });
    const data = secretValue(inputs.data);
    expect(data.secret).toBe(true);
    expect(Buffer.from((data.value as Record<string, string>).password!, 'base64').toString()).toBe('s3cr3t-passw0rd');
    expect(inputs.stringData).toBeUndefined();
    // Mounted like a referenced Secret: a secret volume, a read-only mount, no env var.
    expect(cfg.attachmentValue).toEqual({
      volumes: [{ name: 'db-secret-0', secret: { secretName: 'db-secret', defaultMode: 0o440 } }],
      volumeMounts: [{ name: 'db-secret-0', mountPath: '/var/run/secrets/db', readOnly: true }],
      env: [],
      seal: expect.any(String),
    });
    // Nothing of the secret leaks into non-secret outputs.
    expect(JSON.stringify(await valueOf(cfg.attachment))).not.toContain('s3cr3t');
    expect(await pulumi.isSecret(cfg.attachment)).toBe(false);
  });

  it('keeps data secret when a whole secret object comes from config, and still validates its keys', async () => {
    const cfg = new EnvConfig('obj', { managedSecret: { mountPath: '/s', data: pulumi.secret({ 'api.token': 'xyz' }) } });
    await settle(cfg.secret);
    expect(await pulumi.isSecret(cfg.secret!.data)).toBe(true);
    const plainOutput = runFixture('plain-output-secret');
    expect(plainOutput.status).not.toBe(0);
    expect(plainOutput.stderr).toMatch(/HD030 EnvConfig "plain-out" managedSecret\.data\.token: the value is an Output that is not a Pulumi secret/);
    const secretOutput = runFixture('secret-output');
    expect([secretOutput.status, secretOutput.stderr]).toEqual([0, '']);
    const run = runFixture('secret-keys');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/PROP002 EnvConfig "bad-keys" managedSecret\.data\.no\/slash: key "no\/slash" must consist/);
  }, 180_000);

  it('refuses a literal secret value in the program (HD030) and changes nothing', () => {
    const before = recorder.resources.length;
    const e = thrown(() => new EnvConfig('literal', { managedSecret: { mountPath: '/s', data: { password: 'hunter2', ok: pulumi.secret('x') } } }));
    expect(e).toBeInstanceOf(CleanimgError);
    expect(e.problems.map((p) => [p.code, p.path])).toEqual([['HD030', 'EnvConfig "literal" managedSecret.data.password']]);
    expect(e.message).toContain('pulumi.secret');
    expect(recorder.resources.length).toBe(before);
  });

  it('refuses bad props with the same rule ids and messages as the cdk8s face', () => {
    const cases: Record<string, unknown>[] = [
      { name: 'x', data: { password: 'hunter2' } },
      { name: 'x', data: { 'app.env': 'API_TOKEN=abc\n' } },
      { name: 'x', fileMounts: { missing: '/etc/x' }, data: { a: 'b' } },
      { name: 'Bad_Name', data: { a: 'b' } },
      { name: 'x', secrets: [{ secretName: 's', mountPath: 'relative' }] },
    ];
    for (const props of cases) {
      const fromCdk8s = thrown(() => new Cdk8sEnvConfig(Testing.chart(), 'c', props as never));
      const fromPulumi = thrown(() => new EnvConfig(`case-${cases.indexOf(props)}`, props as never));
      expect(fromPulumi).toBeInstanceOf(CleanimgError);
      expect(fromPulumi.message).toBe(fromCdk8s.message);
      expect(fromPulumi.problems).toEqual(fromCdk8s.problems);
    }
  });
});
