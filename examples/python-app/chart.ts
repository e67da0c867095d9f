/**
 * The guide's Python app: settings as files from an EnvConfig (and LOG_LEVEL as an env var), the
 * database URL from an existing Secret mounted as a file (the guide passes it as an env var, which
 * leaks into logs and child processes), /tmp and a cache directory as sized emptyDirs.
 */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { PYTHON_APP_IMAGE } from '../images';

export class PythonAppChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'apps' });
    const config = new EnvConfig(this, 'config', {
      name: 'python-app',
      data: {
        'app.env': 'ENVIRONMENT=production\nLOG_LEVEL=info\nMAX_CONNECTIONS=100\nCACHE_ENABLED=true\n',
        LOG_LEVEL: 'info',
      },
      mountPath: '/etc/app',
      envKeys: { LOG_LEVEL: 'LOG_LEVEL' },
      secrets: [{ secretName: 'python-app-secrets', mountPath: '/var/run/secrets/app', keys: ['database_url', 'secret_key'] }],
    });
    new HardenedDeployment(this, 'app', {
      name: 'python-app',
      replicas: 3,
      containers: [{
        name: 'app',
        image: PYTHON_APP_IMAGE,
        ports: [{ containerPort: 8000, name: 'http' }],
        env: { DATABASE_URL_FILE: '/var/run/secrets/app/database_url' },
        writablePaths: [
          { path: '/tmp', sizeLimit: '1Gi' },
          { path: '/app/cache', sizeLimit: '500Mi' },
        ],
        resources: { ephemeralStorage: { request: '500Mi', limit: '2Gi' } },
        probes: { readiness: { http: { path: '/ready', port: 'http' } }, liveness: { http: { path: '/healthz', port: 'http' } } },
        config: [config],
      }],
    }).exposeViaService();
  }
}
