/** The Go API scenario (see props.ts) as a cdk8s chart: autoscaled, spread, with a claim and an Ingress, in a HardenedNamespace. */
import { Chart } from 'cdk8s';
import { EnvConfig, HardenedDeployment, HardenedNamespace } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { configProps, goApiProps, goApiTraffic, ingressProps, NAMESPACE, namespaceProps } from './props';

export class GoApiChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const ns = new HardenedNamespace(this, 'namespace', namespaceProps);
    const config = new EnvConfig(this, 'config', configProps);
    config.node.addDependency(ns);
    const api = new HardenedDeployment(this, 'api', goApiProps(config));
    ns.addWorkload(api, goApiTraffic);
    api.exposeViaIngress(ingressProps);
  }
}
