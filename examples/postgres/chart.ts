/** The PostgreSQL scenario (see props.ts) as a cdk8s chart: the workload runs in a HardenedNamespace. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, HardenedNamespace, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { credentialsProps, NAMESPACE, namespaceProps, postgresProps, postgresTraffic } from './props';

export class PostgresChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const ns = new HardenedNamespace(this, 'namespace', namespaceProps);
    const credentials = new EnvConfig(this, 'credentials', credentialsProps);
    credentials.node.addDependency(ns);
    ns.addDeployment(new HardenedDeployment(this, 'postgres', postgresProps(credentials)), postgresTraffic);
  }
}
