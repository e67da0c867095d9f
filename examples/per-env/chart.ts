/**
 * The guide's per-environment example: one definition, two environments. The image digest is the
 * same; only the EnvConfig differs (nginx upstreams). The ConfigMap name carries a content hash, so
 * a config change rolls the Deployment and the previous ConfigMap stays for rollback.
 */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { NGINX_IMAGE } from '../images';

export interface GatewayEnvironment {
  readonly namespace: string;
  readonly upstreams: readonly string[];
  readonly replicas: number;
}

export function nginxConf(upstreams: readonly string[]): string {
  return [
    'pid /var/run/nginx.pid;',
    'events {}',
    'http {',
    '  upstream backend {',
    ...upstreams.map((u) => `    server ${u};`),
    '  }',
    '  server {',
    '    listen 8080;',
    '    location /healthz { return 200; }',
    '    location / { proxy_pass http://backend; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, env: GatewayEnvironment) {
    super(scope, id, { namespace: env.namespace });
    const config = new EnvConfig(this, 'config', {
      name: 'gateway',
      data: { 'nginx.conf': nginxConf(env.upstreams) },
      fileMounts: { 'nginx.conf': '/etc/nginx/nginx.conf' },
    });
    new HardenedDeployment(this, 'gateway', {
      name: 'gateway',
      replicas: env.replicas,
      containers: [{
        name: 'nginx',
        image: NGINX_IMAGE,
        ports: [{ containerPort: 8080, name: 'http' }],
        writablePaths: [
          { path: '/var/cache/nginx', sizeLimit: '64Mi' },
          { path: '/var/run', sizeLimit: '1Mi', medium: 'Memory' },
        ],
        probes: { readiness: { http: { path: '/healthz', port: 'http' } }, liveness: { tcp: { port: 'http' } } },
        config: [config],
      }],
    }).exposeViaService();
  }
}

export const STAGING: GatewayEnvironment = { namespace: 'staging', upstreams: ['backend-staging:8000'], replicas: 1 };
export const PRODUCTION: GatewayEnvironment = {
  namespace: 'production',
  upstreams: ['backend-prod-1:8000', 'backend-prod-2:8000', 'backend-prod-3:8000'],
  replicas: 3,
};
