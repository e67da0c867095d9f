/**
 * The guide's nginx example, corrected: the server certificate is public and is baked into the
 * image (cleanimg-customize), but the private key is NOT (the guide copies server.key into the
 * image): it comes from an existing Secret, mounted read-only. nginx listens on 8080, so no
 * capability is needed.
 */
import { Chart } from 'cdk8s';
import { HardenedDeployment, EnvConfig } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { NGINX_IMAGE } from '../images';

export class NginxChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'web' });
    const tls = new EnvConfig(this, 'tls', {
      name: 'nginx-tls',
      secrets: [{ secretName: 'nginx-tls', mountPath: '/etc/ssl/private', keys: ['tls.key'] }],
    });
    const web = new HardenedDeployment(this, 'nginx', {
      name: 'nginx',
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
    });
    web.exposeViaService();
  }
}
