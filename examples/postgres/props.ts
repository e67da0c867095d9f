/**
 * The guide's PostgreSQL example: config and CA certificate are baked into the image with
 * cleanimg-customize (see postgres/spec.yaml), data lives on a PVC, and the only writable paths
 * are sized emptyDirs for /tmp and the socket directory. The database password comes from an
 * existing Secret, mounted as a file (POSTGRES_PASSWORD_FILE), never as an env var.
 */
import type { EnvConfigProps } from 'cleanimg';
import { IMAGE_REGISTRY, POSTGRES_IMAGE } from '../images';
import type { DeploymentPropsWith, NamespacePropsOf, WorkloadTraffic } from '../scenario';

export const NAMESPACE = 'databases';

/** The guards of the namespace: Pod Security restricted, the admission policy, RBAC, default-deny. */
export const namespaceProps: NamespacePropsOf = { name: NAMESPACE, allowedRegistries: [IMAGE_REGISTRY] };

/** Only the python app (namespace apps) may connect, on the declared port 5432. */
export const postgresTraffic: WorkloadTraffic = {
  ingressFrom: [{ namespace: 'apps', pods: { 'app.kubernetes.io/name': 'python-app' } }],
};

export const credentialsProps: EnvConfigProps = {
  name: 'postgres',
  namespace: NAMESPACE,
  secrets: [{ secretName: 'postgres-credentials', mountPath: '/var/run/secrets/postgres', keys: ['password'] }],
};

export function postgresProps<C>(credentials: C): DeploymentPropsWith<C> {
  return {
    name: 'postgres',
    namespace: NAMESPACE,
    replicas: 1,
    containers: [{
      name: 'postgres',
      image: POSTGRES_IMAGE,
      args: ['-c', 'config_file=/etc/postgresql/custom.conf'],
      ports: [{ containerPort: 5432, name: 'postgres' }],
      env: { PGDATA: '/var/lib/postgresql/data/pgdata', POSTGRES_PASSWORD_FILE: '/var/run/secrets/postgres/password' },
      writablePaths: [
        { path: '/var/lib/postgresql/data', claimName: 'postgres-data' },
        { path: '/var/run/postgresql', sizeLimit: '16Mi' },
        { path: '/tmp', sizeLimit: '256Mi' },
      ],
      resources: {
        cpu: { request: '500m' },
        memory: { request: '1Gi', limit: '2Gi' },
        ephemeralStorage: { request: '300Mi', limit: '1Gi' },
      },
      probes: {
        readiness: { tcp: { port: 'postgres' }, periodSeconds: 5 },
        liveness: { tcp: { port: 'postgres' }, periodSeconds: 20, failureThreshold: 6 },
      },
      config: [credentials],
    }],
  };
}
