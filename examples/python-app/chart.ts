/** The Python app scenario (see props.ts) as a cdk8s chart. */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { configProps, NAMESPACE, pythonAppProps } from './props';

export class PythonAppChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: NAMESPACE });
    const config = new EnvConfig(this, 'config', configProps);
    new HardenedDeployment(this, 'app', pythonAppProps(config)).exposeViaService();
  }
}
