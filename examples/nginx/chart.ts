/** The nginx scenario (see props.ts) as a cdk8s chart: the workload runs in a HardenedNamespace. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, HardenedNamespace, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { NAMESPACE, namespaceProps, nginxProps, nginxTraffic, tlsProps } from './props';

export class NginxChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const ns = new HardenedNamespace(this, 'namespace', namespaceProps);
    const tls = new EnvConfig(this, 'tls', tlsProps);
    tls.node.addDependency(ns);
    const nginx = new HardenedDeployment(this, 'nginx', nginxProps(tls));
    ns.addDeployment(nginx, nginxTraffic);
    nginx.exposeViaService();
  }
}
