/**
 * The examples as one cdk8s app: `npx cdk8s synth` writes one manifest per chart to dist/.
 * HardenedApp checks every object against the rule list before anything is written.
 */
import { runApp } from 'cleanimg/cdk8s';
import { GoApiChart } from './go-api/chart';
import { NginxChart } from './nginx/chart';
import { GatewayChart, PRODUCTION, STAGING } from './per-env/chart';
import { PostgresChart } from './postgres/chart';
import { PostgresCustomImageChart } from './postgres/custom-image-chart';
import { PythonAppChart } from './python-app/chart';

runApp((app) => {
  new PostgresChart(app, 'postgres');
  new NginxChart(app, 'nginx');
  new GatewayChart(app, 'gateway-staging', STAGING);
  new GatewayChart(app, 'gateway-production', PRODUCTION);
  new PythonAppChart(app, 'python-app');
  new GoApiChart(app, 'go-api');
  // Builds the customized image offline at synth (on the embedded base) into dist/images/.
  new PostgresCustomImageChart(app, 'postgres-custom-image');
});
