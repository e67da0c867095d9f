/**
 * Run-time validation of props, for JavaScript callers and values known only at run time.
 * Objects are strict: a key the types do not have (`privileged`, `securityContext`, `hostPath`...)
 * is an error naming the rule it would break, never silently ignored.
 */
import { z } from 'zod';
import { CleanimgError, type Problem } from '../errors';
import { MIN_ID } from '../rules/pod-rules';
import { imageRefOf, isDigestPinned } from './image-ref';
import { isQuantity } from './quantity';

/** Keys people reach for to switch a control off, and the rule each would break. */
const FORBIDDEN_KEYS: Record<string, { code: string; why: string }> = {
  privileged: { code: 'HD006', why: 'containers are never privileged' },
  readOnlyRootFilesystem: { code: 'HD004', why: 'the root filesystem is always read-only; declare writablePaths instead' },
  allowPrivilegeEscalation: { code: 'HD005', why: 'privilege escalation is always off' },
  capabilities: { code: 'HD007', why: 'all capabilities are dropped; only netBindService may add NET_BIND_SERVICE' },
  seccompProfile: { code: 'HD008', why: 'the seccomp profile is always RuntimeDefault' },
  securityContext: { code: 'HD001', why: 'the security context is always the hardened one; set runAsUser/runAsGroup (>= 10000) on the deployment' },
  runAsNonRoot: { code: 'HD001', why: 'containers always run as non-root' },
  hostPath: { code: 'HD010', why: 'hostPath volumes are not available; use a sized emptyDir or a PVC' },
  hostNetwork: { code: 'HD009', why: 'pods never share host namespaces' },
  hostPID: { code: 'HD009', why: 'pods never share host namespaces' },
  hostIPC: { code: 'HD009', why: 'pods never share host namespaces' },
  hostPort: { code: 'HD011', why: 'host ports are not available; expose through a Service' },
  volumes: { code: 'HD012', why: 'volumes come from writablePaths and config only' },
  automountServiceAccountToken: { code: 'HD015', why: 'the service account token is never mounted' },
  envFrom: { code: 'HD017', why: 'env comes from literal env and EnvConfig keys; secrets are mounted as files' },
};

const FIELD_FIXES: Record<string, string> = {
  HD002: 'use 65532 or another ID >= 10000',
  HD003: 'use repo@sha256:<digest> (or repo:tag@sha256:<digest>), or a CustomizedImage',
};

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-", at most 63 characters');
const absolutePath = z.string().regex(/^\/(?!.*(^|\/)\.\.?(\/|$))/, 'must be an absolute path without "." or ".." segments');
const quantity = z.string().refine(isQuantity, 'must be a Kubernetes quantity such as 64Mi, 1Gi or 250m');
const id = z.number().int().min(MIN_ID, `must be >= ${MIN_ID} (0 is root; IDs below ${MIN_ID} collide with host users)`).max(2 ** 31 - 1);
const port = z.number().int().min(1).max(65535);
const portRef = z.union([port, z.string().min(1)]);
const stringMap = z.record(z.string(), z.string());

const probe = z.strictObject({
  http: z.strictObject({ path: z.string().startsWith('/'), port: portRef, scheme: z.enum(['HTTP', 'HTTPS']).optional() }).optional(),
  tcp: z.strictObject({ port: portRef }).optional(),
  grpc: z.strictObject({ port, service: z.string().optional() }).optional(),
  exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
}).refine((p) => [p.http, p.tcp, p.grpc, p.exec].filter(Boolean).length === 1, 'a probe needs exactly one of http, tcp, grpc or exec');

const writablePath = z.union([
  z.strictObject({ path: absolutePath, sizeLimit: quantity, medium: z.literal('Memory').optional() }),
  z.strictObject({ path: absolutePath, claimName: dnsLabel.or(z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)), subPath: z.string().optional() }),
], { error: 'a writable path is { path, sizeLimit } (emptyDir) or { path, claimName } (PersistentVolumeClaim); hostPath is not available' });

const attachment = z.object({ volumes: z.array(z.any()), volumeMounts: z.array(z.any()), env: z.array(z.any()) });

const container = z.strictObject({
  name: dnsLabel,
  image: z.union([z.string(), z.object({ imageRef: z.string() }).loose()], { error: 'image must be a digest-pinned reference string or a CustomizedImage' })
    .refine((v) => isDigestPinned(imageRefOf(v)), { error: (iss) => `image ${JSON.stringify(imageRefOf(iss.input))} is not pinned by digest` }),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: absolutePath.optional(),
  ports: z.array(z.strictObject({ containerPort: port, name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(15).optional(), protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional() })).optional(),
  env: z.record(z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'must be a valid environment variable name'), z.string()).optional(),
  resources: z.strictObject({
    cpu: z.strictObject({ request: quantity, limit: quantity.optional() }).optional(),
    memory: z.strictObject({ request: quantity, limit: quantity }).optional(),
    ephemeralStorage: z.strictObject({ request: quantity, limit: quantity }).optional(),
  }).optional(),
  writablePaths: z.array(writablePath).optional(),
  probes: z.strictObject({ readiness: probe.optional(), liveness: probe.optional(), startup: probe.optional() }).optional(),
  netBindService: z.boolean().optional(),
  config: z.array(attachment).optional(),
});

export const hardenedDeploymentSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  replicas: z.number().int().min(0).optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  containers: z.array(container).min(1, 'a Deployment needs at least one container'),
  initContainers: z.array(container).optional(),
  runAsUser: id.optional(),
  runAsGroup: id.optional(),
});

/** Formats a zod issue path as `containers[0].image`. */
export function propPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** Turns zod issues into problems that name the rule, the prop path and the fix. */
export function zodProblems(error: z.ZodError, root: string): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const base = propPath(issue.path);
    const at = (k?: string) => [root, base, k].filter(Boolean).join('.').replace(/\.\[/g, '[');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const forbidden = FORBIDDEN_KEYS[key];
        out.push(forbidden
          ? { code: forbidden.code, path: at(key), message: `"${key}" cannot be set: ${forbidden.why}`, fix: `remove "${key}"` }
          : { code: 'PROP001', path: at(key), message: `"${key}" is not a known prop`, fix: 'remove it or correct its spelling' });
      }
      continue;
    }
    const last = issue.path[issue.path.length - 1];
    const rule = last === 'runAsUser' || last === 'runAsGroup' ? 'HD002' : last === 'image' ? 'HD003' : undefined;
    out.push({ code: rule ?? 'PROP002', path: at(), message: issue.message, fix: rule ? FIELD_FIXES[rule]! : 'correct the value' });
  }
  return out;
}

/** Validates `props` against `schema`, throwing one error with every problem. */
export function parseProps<T>(schema: z.ZodType<T>, props: unknown, what: string): T {
  const r = schema.safeParse(props);
  if (r.success) return r.data;
  const problems = zodProblems(r.error, '');
  throw new CleanimgError(`${what}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);
}
