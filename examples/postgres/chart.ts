/** The PostgreSQL scenario (see props.ts) as a cdk8s chart: the StatefulSet and its backup CronJob run in a HardenedNamespace. */
import { Chart } from 'cdk8s';
import { EnvConfig, HardenedCronJob, HardenedNamespace, HardenedStatefulSet } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { backupProps, backupTraffic, credentialsProps, NAMESPACE, namespaceProps, postgresProps, postgresTraffic } from './props';

export class PostgresChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const ns = new HardenedNamespace(this, 'namespace', namespaceProps);
    const credentials = new EnvConfig(this, 'credentials', credentialsProps);
    credentials.node.addDependency(ns);
    ns.addWorkload(new HardenedStatefulSet(this, 'postgres', postgresProps(credentials)), postgresTraffic);
    ns.addWorkload(new HardenedCronJob(this, 'backup', backupProps(credentials)), backupTraffic);
  }
}
