/**
 * The guide's PostgreSQL example as a StatefulSet: config and CA certificate are baked into the
 * image with cleanimg-customize (see postgres/image/spec.yaml), the data lives on a claim made per
 * pod from declared storage (volumeClaimTemplates), and the only other writable paths are sized
 * emptyDirs for /tmp and the socket directory. The database password comes from an existing
 * Secret, mounted as a file (POSTGRES_PASSWORD_FILE), never as an env var.
 *
 * Beside it, a nightly backup CronJob: pg_dump with the same password file, a sized /tmp, the dumps
 * on a claim of their own, never two runs at once.
 */
import type { EnvConfigProps } from 'cleanimg';
import { IMAGE_REGISTRY, PG_BACKUP_IMAGE, POSTGRES_IMAGE } from '../images';
import type { CronJobPropsWith, NamespacePropsOf, StatefulSetPropsWith, WorkloadTraffic } from '../scenario';

export const NAMESPACE = 'databases';

/** The guards of the namespace: Pod Security restricted, the admission policy, RBAC, default-deny. */
export const namespaceProps: NamespacePropsOf = { name: NAMESPACE, allowedRegistries: [IMAGE_REGISTRY] };

const POSTGRES_PODS = { 'app.kubernetes.io/name': 'postgres' };

/** Only the python app (namespace apps) and the backup job may connect, on the declared port 5432. */
export const postgresTraffic: WorkloadTraffic = {
  ingressFrom: [{ namespace: 'apps', pods: { 'app.kubernetes.io/name': 'python-app' } }, { pods: { 'app.kubernetes.io/name': 'postgres-backup' } }],
};

/** The backup job reaches postgres, and nothing else beyond DNS. */
export const backupTraffic: WorkloadTraffic = {
  egressTo: [{ to: [{ pods: POSTGRES_PODS }], ports: [{ port: 5432 }] }],
};

export const credentialsProps: EnvConfigProps = {
  name: 'postgres',
  namespace: NAMESPACE,
  secrets: [{ secretName: 'postgres-credentials', mountPath: '/var/run/secrets/postgres', keys: ['password'] }],
};

export function postgresProps<C>(credentials: C): StatefulSetPropsWith<C> {
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
        { path: '/var/lib/postgresql/data', storage: { size: '10Gi' } },
        { path: '/var/run/postgresql', sizeLimit: '16Mi' },
        { path: '/tmp', sizeLimit: '256Mi' },
      ],
      resources: {
        cpu: { request: '250m' },
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

/** Every night at 02:30 UTC: a dump through the StatefulSet's headless Service, onto its own claim. */
export function backupProps<C>(credentials: C): CronJobPropsWith<C> {
  return {
    name: 'postgres-backup',
    namespace: NAMESPACE,
    schedule: '30 2 * * *',
    timeZone: 'Etc/UTC',
    backoffLimit: 2,
    activeDeadlineSeconds: 3600,
    ttlSecondsAfterFinished: 86400,
    containers: [{
      name: 'dump',
      image: PG_BACKUP_IMAGE,
      // pg-backup (in the image, no shell) reads the password file and runs pg_dump.
      command: ['/usr/local/bin/pg-backup', '--host=postgres-headless.databases.svc', '--username=postgres', '--out=/backups/nightly.dump'],
      env: { POSTGRES_PASSWORD_FILE: '/var/run/secrets/postgres/password' },
      writablePaths: [
        { path: '/tmp', sizeLimit: '512Mi' },
        { path: '/backups', storage: { size: '20Gi' } },
      ],
      resources: { memory: { request: '256Mi', limit: '512Mi' }, ephemeralStorage: { request: '128Mi', limit: '1Gi' } },
      config: [credentials],
    }],
  };
}
