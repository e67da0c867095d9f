/**
 * The guide's nginx example, corrected: the server certificate is public and is baked into the
 * image (cleanimg-customize), but the private key is NOT (the guide copies server.key into the
 * image): it comes from an existing Secret, mounted read-only. nginx listens on 8443, so no
 * capability is needed.
 */
import type { EnvConfigProps } from 'cleanimg';
import { IMAGE_REGISTRY, NGINX_IMAGE } from '../images';
import type { DeploymentPropsWith, NamespacePropsOf, WorkloadTraffic } from '../scenario';

export const NAMESPACE = 'web';

export const namespaceProps: NamespacePropsOf = { name: NAMESPACE, allowedRegistries: [IMAGE_REGISTRY] };

/** A public server: any source, on the declared port 8443 only; no egress beyond DNS. */
export const nginxTraffic: WorkloadTraffic = {};

export const tlsProps: EnvConfigProps = {
  name: 'nginx-tls',
  namespace: NAMESPACE,
  secrets: [{ secretName: 'nginx-tls', mountPath: '/etc/ssl/private', keys: ['tls.key'] }],
};

export function nginxProps<C>(tls: C): DeploymentPropsWith<C> {
  return {
    name: 'nginx',
    namespace: NAMESPACE,
    containers: [{
      name: 'nginx',
      image: NGINX_IMAGE,
      ports: [{ containerPort: 8443, name: 'https' }],
      writablePaths: [
        { path: '/var/cache/nginx', sizeLimit: '128Mi' },
        { path: '/var/run', sizeLimit: '1Mi', medium: 'Memory' },
      ],
      probes: {
        readiness: { http: { path: '/healthz', port: 'https', scheme: 'HTTPS' } },
        liveness: { tcp: { port: 'https' } },
      },
      config: [tls],
    }],
  };
}

