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
 *
 * Each scenario runs in a HardenedNamespace (the per-environment one: one per environment). The
 * deployments and EnvConfigs are declared inside it, with the options it hands out, so every one
 * of their Kubernetes objects waits for the Namespace, the admission policy and its binding.
 */
import * as pulumi from '@pulumi/pulumi';
import { EnvConfig, HardenedCronJob, HardenedDeployment, HardenedNamespace, HardenedStatefulSet, type HardenedWorkload } from 'cleanimg/pulumi';
import { configProps as goApiConfigProps, goApiProps, goApiTraffic, ingressProps, namespaceProps as apiNamespace } from '../go-api/props';
import { backupProps, backupTraffic, credentialsProps, namespaceProps as databasesNamespace, postgresProps, postgresTraffic } from '../postgres/props';
import { namespaceProps as webNamespace, nginxProps, nginxTraffic, tlsProps } from '../nginx/props';
import { gatewayConfigProps, gatewayProps, gatewayTraffic, namespaceProps as gatewayNamespace, PRODUCTION, STAGING } from '../per-env/props';
import { configProps, namespaceProps as appsNamespace, pythonAppProps, pythonAppTraffic } from '../python-app/props';

const PYTHON_APP_SECRET = configProps.secrets!.find((s) => s.secretName === 'python-app-secrets')!;

export interface ExampleStack {
  readonly namespaces: Record<string, HardenedNamespace>;
  /** Every workload, of any kind, by its Pulumi resource name. */
  readonly deployments: Record<string, HardenedWorkload>;
  readonly configs: Record<string, EnvConfig>;
}

/**
 * Declares every scenario. `opts` applies to each component and so to its children: a provider, or
 * transformations (e.g. the end-to-end stack adding `pulumi.com/skipAwait` annotations).
 */
export function deployExamples(opts: pulumi.ComponentResourceOptions = {}): ExampleStack {
  const namespaces: Record<string, HardenedNamespace> = {};
  const configs: Record<string, EnvConfig> = {};
  const deployments: Record<string, HardenedWorkload> = {};
  const inside = (o: pulumi.ComponentResourceOptions) => pulumi.mergeOptions(opts, o);

  namespaces.databases = new HardenedNamespace('databases', {
    ...databasesNamespace,
    deployments: (o) => {
      configs['postgres-credentials'] = new EnvConfig('postgres-credentials', credentialsProps, inside(o));
      deployments.postgres = new HardenedStatefulSet('postgres', postgresProps(configs['postgres-credentials']), inside(o));
      deployments['postgres-backup'] = new HardenedCronJob('postgres-backup', backupProps(configs['postgres-credentials']), inside(o));
      return [{ workload: deployments.postgres, ...postgresTraffic }, { workload: deployments['postgres-backup'], ...backupTraffic }];
    },
  }, opts);

  namespaces.web = new HardenedNamespace('web', {
    ...webNamespace,
    deployments: (o) => {
      configs['nginx-tls'] = new EnvConfig('nginx-tls', tlsProps, inside(o));
      deployments.nginx = new HardenedDeployment('nginx', { ...nginxProps(configs['nginx-tls']), service: true }, inside(o));
      return [{ deployment: deployments.nginx, ...nginxTraffic }];
    },
  }, opts);

  for (const [suffix, env] of [['staging', STAGING], ['production', PRODUCTION]] as const) {
    namespaces[env.namespace] = new HardenedNamespace(env.namespace, {
      ...gatewayNamespace(env),
      deployments: (o) => {
        const config = (configs[`gateway-${suffix}-config`] = new EnvConfig(`gateway-${suffix}-config`, gatewayConfigProps(env), inside(o)));
        const gateway = (deployments[`gateway-${suffix}`] = new HardenedDeployment(`gateway-${suffix}`, { ...gatewayProps(env, config), service: true }, inside(o)));
        return [{ deployment: gateway, ...gatewayTraffic(env) }];
      },
    }, opts);
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
  namespaces.apps = new HardenedNamespace('apps', {
    ...appsNamespace,
    deployments: (o) => {
      configs['python-app-config'] = new EnvConfig('python-app-config', appConfig, inside(o));
      deployments['python-app'] = new HardenedDeployment('python-app', { ...pythonAppProps(configs['python-app-config']), service: true }, inside(o));
      return [{ deployment: deployments['python-app'], ...pythonAppTraffic }];
    },
  }, opts);

  namespaces.api = new HardenedNamespace('api', {
    ...apiNamespace,
    deployments: (o) => {
      configs['go-api-config'] = new EnvConfig('go-api-config', goApiConfigProps, inside(o));
      deployments['go-api'] = new HardenedDeployment('go-api', { ...goApiProps(configs['go-api-config']), ingress: ingressProps }, inside(o));
      return [{ workload: deployments['go-api'], ...goApiTraffic }];
    },
  }, opts);

  return { namespaces, deployments, configs };
}
