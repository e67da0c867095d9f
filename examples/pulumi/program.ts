/**
 * The example scenarios with the Pulumi face: the same props (examples/<scenario>/props.ts) as the
 * cdk8s charts, so `pulumi preview` and `cdk8s synth` produce the same objects.
 *
 * Pulumi resource names must be unique per type in a stack, so the two gateway environments are
 * `gateway-staging` and `gateway-production`; their Kubernetes names (metadata.name) come from the
 * props, exactly as in cdk8s.
 *
 * Pulumi only: when the stack has the config secrets `pythonAppDatabaseUrl` and `pythonAppSecretKey`
 * (`pulumi config set --secret ...`), the python app's Secret is made by its EnvConfig from them
 * (`managedSecret`, data kept secret in state) instead of being referenced as an existing Secret.
 * Without them the objects are exactly those of `cdk8s synth`.
 */
import * as pulumi from '@pulumi/pulumi';
import { EnvConfig, HardenedDeployment } from 'cleanimg/pulumi';
import { credentialsProps, postgresProps } from '../postgres/props';
import { nginxProps, tlsProps } from '../nginx/props';
import { gatewayConfigProps, gatewayProps, PRODUCTION, STAGING } from '../per-env/props';
import { configProps, pythonAppProps } from '../python-app/props';

const PYTHON_APP_SECRET = configProps.secrets!.find((s) => s.secretName === 'python-app-secrets')!;

export interface ExampleStack {
  readonly deployments: Record<string, HardenedDeployment>;
  readonly configs: Record<string, EnvConfig>;
}

/**
 * Declares every scenario. `opts` applies to each component and so to its children: a provider, or
 * transformations (e.g. the end-to-end stack adding `pulumi.com/skipAwait` annotations).
 */
export function deployExamples(opts: pulumi.ComponentResourceOptions = {}): ExampleStack {
  const configs: Record<string, EnvConfig> = {};
  const deployments: Record<string, HardenedDeployment> = {};

  configs['postgres-credentials'] = new EnvConfig('postgres-credentials', credentialsProps, opts);
  deployments.postgres = new HardenedDeployment('postgres', postgresProps(configs['postgres-credentials']), opts);

  configs['nginx-tls'] = new EnvConfig('nginx-tls', tlsProps, opts);
  deployments.nginx = new HardenedDeployment('nginx', { ...nginxProps(configs['nginx-tls']), service: true }, opts);

  for (const [suffix, env] of [['staging', STAGING], ['production', PRODUCTION]] as const) {
    const config = (configs[`gateway-${suffix}-config`] = new EnvConfig(`gateway-${suffix}-config`, gatewayConfigProps(env), opts));
    deployments[`gateway-${suffix}`] = new HardenedDeployment(`gateway-${suffix}`, { ...gatewayProps(env, config), service: true }, opts);
  }

  const config = new pulumi.Config();
  const databaseUrl = config.getSecret('pythonAppDatabaseUrl');
  const secretKey = config.getSecret('pythonAppSecretKey');
  const appConfig = databaseUrl && secretKey
    ? {
        ...configProps,
        secrets: configProps.secrets?.filter((s) => s.secretName !== PYTHON_APP_SECRET.secretName),
        managedSecret: { secretName: PYTHON_APP_SECRET.secretName, mountPath: PYTHON_APP_SECRET.mountPath, data: { database_url: databaseUrl, secret_key: secretKey } },
      }
    : configProps;
  configs['python-app-config'] = new EnvConfig('python-app-config', appConfig, opts);
  deployments['python-app'] = new HardenedDeployment('python-app', { ...pythonAppProps(configs['python-app-config']), service: true }, opts);

  return { deployments, configs };
}
