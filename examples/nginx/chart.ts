/** The nginx scenario (see props.ts) as a cdk8s chart. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { NAMESPACE, nginxProps, tlsProps } from './props';

export class NginxChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const tls = new EnvConfig(this, 'tls', tlsProps);
    new HardenedDeployment(this, 'nginx', nginxProps(tls)).exposeViaService();
  }
}
