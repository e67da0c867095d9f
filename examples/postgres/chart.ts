/** The PostgreSQL scenario (see props.ts) as a cdk8s chart. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { credentialsProps, NAMESPACE, postgresProps } from './props';

export class PostgresChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const credentials = new EnvConfig(this, 'credentials', credentialsProps);
    new HardenedDeployment(this, 'postgres', postgresProps(credentials));
  }
}
