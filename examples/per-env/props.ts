/**
 * The guide's per-environment example: one definition, two environments. The image digest is the
 * same; only the EnvConfig differs (nginx upstreams). The ConfigMap name carries a content hash, so
 * a config change rolls the Deployment and the previous ConfigMap stays for rollback (cdk8s; Pulumi
 * replaces it, see src/pulumi/README.md).
 */
import type { EnvConfigProps } from 'cleanimg';
import { IMAGE_REGISTRY, NGINX_IMAGE } from '../images';
import type { DeploymentPropsWith, NamespacePropsOf, WorkloadTraffic } from '../scenario';

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

/** Each environment is its own HardenedNamespace. */
export function namespaceProps(env: GatewayEnvironment): NamespacePropsOf {
  return { name: env.namespace, allowedRegistries: [IMAGE_REGISTRY] };
}

/** Any source on 8080; out, to the upstreams' ports in the environment's own namespace (the upstreams are Services there). */
export function gatewayTraffic(env: GatewayEnvironment): WorkloadTraffic {
  const ports = [...new Set(env.upstreams.map((u) => Number(u.split(':')[1] ?? 80)))];
  return { egressTo: [{ to: [{ namespace: env.namespace }], ports: ports.map((port) => ({ port })) }] };
}

export function gatewayConfigProps(env: GatewayEnvironment): EnvConfigProps {
  return {
    name: 'gateway',
    namespace: env.namespace,
    data: { 'nginx.conf': nginxConf(env.upstreams) },
    fileMounts: { 'nginx.conf': '/etc/nginx/nginx.conf' },
  };
}

export function gatewayProps<C>(env: GatewayEnvironment, config: C): DeploymentPropsWith<C> {
  return {
    name: 'gateway',
    namespace: env.namespace,
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
  };
}


export const STAGING: GatewayEnvironment = { namespace: 'staging', upstreams: ['backend-staging:8000'], replicas: 1 };
export const PRODUCTION: GatewayEnvironment = {
  namespace: 'production',
  upstreams: ['backend-prod-1:8000', 'backend-prod-2:8000', 'backend-prod-3:8000'],
  replicas: 3,
};
