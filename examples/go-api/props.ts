/**
 * A Go API in production shape: autoscaled between 3 and 12 replicas on CPU (a
 * HorizontalPodAutoscaler; `replicas` is never written, so an apply never fights it), a
 * PodDisruptionBudget, soft spread across nodes and zones, uploads on a shared (ReadWriteMany)
 * claim the Deployment creates, and an Ingress with TLS from an existing Secret. Its settings come
 * from an EnvConfig; the only writable paths are the claim and a sized /tmp.
 */
import type { EnvConfigProps, IngressOptions } from 'cleanimg';
import { GO_API_IMAGE, IMAGE_REGISTRY } from '../images';
import type { DeploymentPropsWith, NamespacePropsOf, WorkloadTraffic } from '../scenario';

export const NAMESPACE = 'api';

export const namespaceProps: NamespacePropsOf = { name: NAMESPACE, allowedRegistries: [IMAGE_REGISTRY] };

/** Only the ingress controller may connect, on the declared port. */
export const goApiTraffic: WorkloadTraffic = {
  ingressFrom: [{ namespace: 'ingress-nginx', pods: { 'app.kubernetes.io/name': 'ingress-nginx' } }],
};

export const ingressProps: IngressOptions = { hosts: ['api.example.com'], className: 'nginx', tls: { secretName: 'api-example-com-tls' } };

export const configProps: EnvConfigProps = {
  name: 'go-api',
  namespace: NAMESPACE,
  data: { 'config.yaml': 'listen: ":8080"\nlog_level: info\nupload_dir: /var/lib/go-api/uploads\n' },
  fileMounts: { 'config.yaml': '/etc/go-api/config.yaml' },
};

export function goApiProps<C>(config: C): DeploymentPropsWith<C> {
  return {
    name: 'go-api',
    namespace: NAMESPACE,
    autoscaling: { minReplicas: 3, maxReplicas: 12, cpuUtilization: 75 },
    spread: { zones: true },
    containers: [{
      name: 'api',
      image: GO_API_IMAGE,
      args: ['--config=/etc/go-api/config.yaml'],
      ports: [{ containerPort: 8080, name: 'http' }],
      writablePaths: [
        { path: '/var/lib/go-api/uploads', storage: { size: '50Gi', accessMode: 'ReadWriteMany', storageClassName: 'shared-files' } },
        { path: '/tmp', sizeLimit: '128Mi' },
      ],
      resources: { cpu: { request: '100m' }, memory: { request: '256Mi', limit: '512Mi' } },
      probes: {
        readiness: { http: { path: '/readyz', port: 'http' } },
        liveness: { http: { path: '/healthz', port: 'http' }, periodSeconds: 20 },
      },
      config: [config],
    }],
  };
}
