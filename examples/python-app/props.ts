/**
 * The guide's Python app: settings as files from an EnvConfig (and LOG_LEVEL as an env var), the
 * database URL from an existing Secret mounted as a file (the guide passes it as an env var, which
 * leaks into logs and child processes), /tmp and a cache directory as sized emptyDirs.
 */
import type { EnvConfigProps } from 'cleanimg';
import { IMAGE_REGISTRY, PYTHON_APP_IMAGE } from '../images';
import type { DeploymentPropsWith, NamespacePropsOf, WorkloadTraffic } from '../scenario';

export const NAMESPACE = 'apps';

export const namespaceProps: NamespacePropsOf = { name: NAMESPACE, allowedRegistries: [IMAGE_REGISTRY] };

/** Any source on port 8000; out, only to the postgres pods (namespace databases) on 5432. */
export const pythonAppTraffic: WorkloadTraffic = {
  egressTo: [{ to: [{ namespace: 'databases', pods: { 'app.kubernetes.io/name': 'postgres' } }], ports: [{ port: 5432 }] }],
};

export const configProps: EnvConfigProps = {
  name: 'python-app',
  namespace: NAMESPACE,
  data: {
    'app.env': 'ENVIRONMENT=production\nLOG_LEVEL=info\nMAX_CONNECTIONS=100\nCACHE_ENABLED=true\n',
    LOG_LEVEL: 'info',
  },
  mountPath: '/etc/app',
  envKeys: { LOG_LEVEL: 'LOG_LEVEL' },
  secrets: [{ secretName: 'python-app-secrets', mountPath: '/var/run/secrets/app', keys: ['database_url', 'secret_key'] }],
};

export function pythonAppProps<C>(config: C): DeploymentPropsWith<C> {
  return {
    name: 'python-app',
    namespace: NAMESPACE,
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
  };
}

