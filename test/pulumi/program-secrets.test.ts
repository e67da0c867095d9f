/**
 * The example program with config secrets (`pulumi config set --secret pythonAppDatabaseUrl ...`):
 * the python app's Secret is made by its EnvConfig, its data stays secret, and the policy-relevant
 * parts (name, mount, read-only) are those of the referenced Secret it replaces.
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { deployExamples } from '../../examples/pulumi/program';
import { installMocks, secretValue, settle } from './harness';

const recorder = installMocks('cleanimg-examples', 'dev');
pulumi.runtime.setAllConfig(
  { 'cleanimg-examples:pythonAppDatabaseUrl': 'postgres://app:pw-from-config@db:5432/app', 'cleanimg-examples:pythonAppSecretKey': 'k3y-from-config' },
  ['cleanimg-examples:pythonAppDatabaseUrl', 'cleanimg-examples:pythonAppSecretKey'],
);

describe('examples/pulumi with config secrets', () => {
  it('creates python-app-secrets from the config secrets, secret in state, mounted read-only where the reference was', async () => {
    const stack = deployExamples();
    const cfg = stack.configs['python-app-config']!;
    const app = stack.deployments['python-app']!;
    expect(cfg.secret).toBeDefined();
    await settle(cfg.secret, app.workload);
    expect(await pulumi.isSecret(cfg.secret!.data)).toBe(true);
    const secret = recorder.inputsOf('kubernetes:core/v1:Secret', 'python-app-config-secret');
    expect(secret.metadata).toMatchObject({ name: 'python-app-secrets', namespace: 'apps' });
    const data = secretValue(secret.data);
    expect(data.secret).toBe(true);
    expect(Buffer.from((data.value as Record<string, string>).database_url!, 'base64').toString()).toBe('postgres://app:pw-from-config@db:5432/app');
    const pod = recorder.inputsOf('kubernetes:apps/v1:Deployment', 'python-app').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'python-app-secret-0', secret: { secretName: 'python-app-secrets', defaultMode: 0o440 } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'python-app-secret-0', mountPath: '/var/run/secrets/app', readOnly: true });
    expect(JSON.stringify(recorder.inputsOf('kubernetes:apps/v1:Deployment', 'python-app'))).not.toContain('pw-from-config');
  });
});
