// The project's examples (examples/*), synthesized through cdk8s, as objects and as files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { GoApiChart } from '../../../examples/go-api/chart';
import { NginxChart } from '../../../examples/nginx/chart';
import { GatewayChart, PRODUCTION, STAGING } from '../../../examples/per-env/chart';
import { PostgresChart } from '../../../examples/postgres/chart';
import { PythonAppChart } from '../../../examples/python-app/chart';
import { toYaml, type KObject } from './k8s';

const synth = (make: (app: ReturnType<typeof Testing.app>) => unknown): KObject[] => {
  const app = Testing.app();
  return Testing.synth(make(app) as never) as KObject[];
};

/** Every example chart, by name. Add new examples here to put them through the e2e tier. */
export const EXAMPLES: Record<string, () => KObject[]> = {
  postgres: () => synth((app) => new PostgresChart(app, 'postgres')),
  nginx: () => synth((app) => new NginxChart(app, 'nginx')),
  'gateway-staging': () => synth((app) => new GatewayChart(app, 'gateway-staging', STAGING)),
  'gateway-production': () => synth((app) => new GatewayChart(app, 'gateway-production', PRODUCTION)),
  'python-app': () => synth((app) => new PythonAppChart(app, 'python-app')),
  'go-api': () => synth((app) => new GoApiChart(app, 'go-api')),
};

/** Write each example's objects to `<dir>/<name>.yaml`; returns name -> path. */
export function writeExamples(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, make] of Object.entries(EXAMPLES)) {
    files[name] = join(dir, `${name}.yaml`);
    writeFileSync(files[name], toYaml(make()));
  }
  return files;
}
