/**
 * The guide's PostgreSQL example: config and CA certificate are baked into the image with
 * cleanimg-customize (see postgres/spec.yaml), data lives on a PVC, and the only writable paths
 * are sized emptyDirs for /tmp and the socket directory. The database password comes from an
 * existing Secret, mounted as a file (POSTGRES_PASSWORD_FILE), never as an env var.
 */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { POSTGRES_IMAGE } from '../images';

export class PostgresChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'databases' });
    const credentials = new EnvConfig(this, 'credentials', {
      name: 'postgres',
      secrets: [{ secretName: 'postgres-credentials', mountPath: '/var/run/secrets/postgres', keys: ['password'] }],
    });
    new HardenedDeployment(this, 'postgres', {
      name: 'postgres',
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
    });
  }
}
