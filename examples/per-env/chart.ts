/** The per-environment gateway scenario (see props.ts) as a cdk8s chart, one per environment. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { gatewayConfigProps, gatewayProps, type GatewayEnvironment } from './props';

export { nginxConf, PRODUCTION, STAGING, type GatewayEnvironment } from './props';

export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, env: GatewayEnvironment) {
    super(scope, id, { namespace: env.namespace });
    const config = new EnvConfig(this, 'config', gatewayConfigProps(env));
    new HardenedDeployment(this, 'gateway', gatewayProps(env, config)).exposeViaService();
  }
}
