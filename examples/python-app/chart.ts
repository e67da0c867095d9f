/** The Python app scenario (see props.ts) as a cdk8s chart: the workload runs in a HardenedNamespace. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, HardenedNamespace, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { configProps, NAMESPACE, namespaceProps, pythonAppProps, pythonAppTraffic } from './props';

export class PythonAppChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const ns = new HardenedNamespace(this, 'namespace', namespaceProps);
    const config = new EnvConfig(this, 'config', configProps);
    config.node.addDependency(ns);
    const app = new HardenedDeployment(this, 'app', pythonAppProps(config));
    ns.addDeployment(app, pythonAppTraffic);
    app.exposeViaService();
  }
}
