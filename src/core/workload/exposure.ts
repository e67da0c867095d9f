/**
 * Exposure of a workload's declared ports: a ClusterIP Service, and in front of it an Ingress
 * (networking.k8s.io/v1, TLS from a Secret reference) or a Gateway API HTTPRoute
 * (gateway.networking.k8s.io/v1, TLS terminates at the Gateway).
 */
import { z } from 'zod';
import { CleanimgError } from '../../errors';
import type { KubeObject } from '../../rules';
import { dnsLabel, dnsSubdomain, parseProps, port } from '../props-schema';
import type { HardenedWorkloadResult } from './result';

/** What exposure needs of a workload. */
export type ExposableWorkload = Pick<HardenedWorkloadResult, 'workload' | 'selector' | 'ports'>;

export interface ServiceOptions {
  /** @default the workload's name */
  readonly name?: string;
  /** Expose only these container ports. @default every declared port */
  readonly ports?: readonly number[];
}

export interface IngressOptions {
  /** Host names (`api.example.com`, `*.example.com`). */
  readonly hosts: readonly string[];
  /** @default / */
  readonly path?: string;
  /** @default Prefix */
  readonly pathType?: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  /** The container port to route to. @default the first declared port */
  readonly port?: number;
  /** TLS with the certificate in this existing Secret (type kubernetes.io/tls). @default no TLS */
  readonly tls?: { readonly secretName: string };
  /** @default the cluster's default IngressClass */
  readonly className?: string;
  /** @default the workload's name */
  readonly name?: string;
  /** The Service to route to. @default the workload's name (the one exposeViaService creates) */
  readonly serviceName?: string;
}

export interface HttpRouteOptions {
  /** The Gateways (and listeners) to attach to. */
  readonly parentRefs: readonly { readonly name: string; readonly namespace?: string; readonly sectionName?: string }[];
  /** @default any host the Gateway accepts */
  readonly hostnames?: readonly string[];
  /** @default / (PathPrefix) */
  readonly path?: string;
  /** The container port to route to. @default the first declared port */
  readonly port?: number;
  /** @default the workload's name */
  readonly name?: string;
  /** @default the workload's name */
  readonly serviceName?: string;
}

const hostName = z.string().max(253).regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS name such as api.example.com or *.example.com');
const httpPath = z.string().regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/, 'must start with / and hold only URL path characters');
const ingressSchema = z.strictObject({
  hosts: z.array(hostName).min(1, 'an Ingress needs at least one host'),
  path: httpPath.optional(),
  pathType: z.enum(['Prefix', 'Exact', 'ImplementationSpecific']).optional(),
  port: port.optional(),
  tls: z.strictObject({ secretName: dnsSubdomain }).optional(),
  className: dnsSubdomain.optional(),
  name: dnsSubdomain.optional(),
  serviceName: dnsLabel.optional(),
});
const routeSchema = z.strictObject({
  parentRefs: z.array(z.strictObject({ name: dnsSubdomain, namespace: dnsLabel.optional(), sectionName: dnsSubdomain.optional() })).min(1, 'an HTTPRoute needs a Gateway'),
  hostnames: z.array(hostName).optional(),
  path: httpPath.optional(),
  port: port.optional(),
  name: dnsSubdomain.optional(),
  serviceName: dnsLabel.optional(),
});

function metaOf(d: ExposableWorkload, name: string): KubeObject['metadata'] {
  const meta = d.workload.metadata!;
  return { name, ...(meta.namespace ? { namespace: meta.namespace } : {}), labels: { ...(meta.labels as object) } };
}

/** The declared container port to route to (the first one unless asked), or an error. */
function routedPort(d: ExposableWorkload, wanted: number | undefined, what: string): number {
  const first = d.ports[0]?.containerPort;
  const chosen = wanted ?? first;
  if (chosen === undefined || !d.ports.some((p) => p.containerPort === chosen)) {
    throw new CleanimgError(`${what} for ${d.workload.metadata?.name}: no such declared port`, [{
      code: 'PROP006', path: 'port', message: wanted === undefined ? 'the workload declares no port' : `port ${wanted} is not declared by any container`,
      fix: `declare the port on a container${first !== undefined ? `, or route to ${first}` : ''}`,
    }]);
  }
  return chosen;
}

/** A ClusterIP Service in front of a workload's declared ports. */
export function serviceFor(d: ExposableWorkload, opts: ServiceOptions = {}): KubeObject {
  const meta = d.workload.metadata!;
  const ports = d.ports.filter((p) => !opts.ports || opts.ports.includes(p.containerPort));
  if (ports.length === 0) throw new CleanimgError(`Service for ${meta.name}: no declared container port to expose`, [{ code: 'PROP006', path: 'ports', message: 'the workload declares no matching port', fix: 'declare ports on a container' }]);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metaOf(d, opts.name ?? String(meta.name)),
    spec: {
      type: 'ClusterIP',
      selector: { ...d.selector },
      ports: ports.map((p) => ({ name: p.name ?? `port-${p.containerPort}`, port: p.containerPort, targetPort: p.name ?? p.containerPort, protocol: p.protocol ?? 'TCP' })),
    },
  };
}

/** An Ingress to the workload's Service. */
export function ingressFor(d: ExposableWorkload, options: IngressOptions): KubeObject {
  const o = parseProps(ingressSchema, options, `Ingress for ${JSON.stringify(d.workload.metadata?.name)}`);
  const name = String(d.workload.metadata!.name);
  const backend = { service: { name: o.serviceName ?? name, port: { number: routedPort(d, o.port, 'Ingress') } } };
  const path = { path: o.path ?? '/', pathType: o.pathType ?? 'Prefix', backend };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metaOf(d, o.name ?? name),
    spec: {
      ...(o.className ? { ingressClassName: o.className } : {}),
      ...(o.tls ? { tls: [{ hosts: [...o.hosts], secretName: o.tls.secretName }] } : {}),
      rules: o.hosts.map((host) => ({ host, http: { paths: [structuredClone(path)] } })),
    },
  };
}

/** A Gateway API HTTPRoute to the workload's Service. */
export function httpRouteFor(d: ExposableWorkload, options: HttpRouteOptions): KubeObject {
  const o = parseProps(routeSchema, options, `HTTPRoute for ${JSON.stringify(d.workload.metadata?.name)}`);
  const name = String(d.workload.metadata!.name);
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: metaOf(d, o.name ?? name),
    spec: {
      parentRefs: o.parentRefs.map((r) => ({ ...r })),
      ...(o.hostnames ? { hostnames: [...o.hostnames] } : {}),
      rules: [{
        matches: [{ path: { type: 'PathPrefix', value: o.path ?? '/' } }],
        backendRefs: [{ name: o.serviceName ?? name, port: routedPort(d, o.port, 'HTTPRoute') }],
      }],
    },
  };
}
