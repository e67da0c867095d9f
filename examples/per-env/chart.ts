/** The per-environment gateway scenario (see props.ts) as a cdk8s chart, one per environment, each its own HardenedNamespace. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, HardenedNamespace, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { gatewayConfigProps, gatewayProps, gatewayTraffic, namespaceProps, type GatewayEnvironment } from './props';

export { nginxConf, PRODUCTION, STAGING, type GatewayEnvironment } from './props';

export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, env: GatewayEnvironment) {
    super(scope, id, { namespace: env.namespace });
    const ns = new HardenedNamespace(this, 'namespace', namespaceProps(env));
    const config = new EnvConfig(this, 'config', gatewayConfigProps(env));
    config.node.addDependency(ns);
    const gateway = new HardenedDeployment(this, 'gateway', gatewayProps(env, config));
    ns.addDeployment(gateway, gatewayTraffic(env));
    gateway.exposeViaService();
  }
}
