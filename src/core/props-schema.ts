/**
 * Run-time validation of props, for JavaScript callers and values known only at run time.
 * Objects are strict: a key the types do not have (`privileged`, `securityContext`, `hostPath`...)
 * is an error naming the rule it would break, never silently ignored.
 */
import { z } from 'zod';
import { CleanimgError, type Problem } from '../errors';
import { MIN_ID } from '../rules/pod-rules';
import { SYSTEM_NAMESPACES } from '../rules/shape-rules';
import { imageRefOf, isDigestPinned } from './image-ref';
import { isQuantity, parseQuantity } from './quantity';

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
  shareProcessNamespace: { code: 'HD039', why: "containers never share a process namespace (one could read another's files through /proc)" },
  nodeName: { code: 'HD040', why: 'pods are placed by the scheduler (nodeName skips NoSchedule taints); use nodeSelector or affinity' },
  hostPort: { code: 'HD011', why: 'host ports are not available; expose through a Service' },
  volumes: { code: 'HD012', why: 'volumes come from writablePaths and config only' },
  automountServiceAccountToken: { code: 'HD015', why: 'the service account token is never mounted' },
  envFrom: { code: 'HD017', why: 'env comes from literal env and EnvConfig keys; secrets are mounted as files' },
};

const FIELD_FIXES: Record<string, string> = {
  HD002: 'use 65532 or another ID >= 10000',
  HD003: 'use repo@sha256:<digest> (or repo:tag@sha256:<digest>), or a CustomizedImage',
  HD029: 'use a namespace of your own, e.g. a HardenedNamespace',
  HD032: 'mount it elsewhere, e.g. /etc/<app>; a hardened pod calls no API and carries no token',
  HD035: 'use a quantity above zero such as 64Mi, 1Gi or 250m, with the request not above the limit',
  HD036: 'use an absolute path below / without "." or ".." segments (subPaths: relative, inside the volume)',
};

export const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-", at most 63 characters');
export const dnsSubdomain = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS subdomain name: lower-case letters, digits, "-" and "."');
export const namespaceName = dnsLabel.refine((n) => !SYSTEM_NAMESPACES.includes(n), {
  error: (iss) => `${JSON.stringify(iss.input)} is a system namespace; workloads never run in ${SYSTEM_NAMESPACES.join(', ')}`,
  params: { rule: 'HD029' },
});
/** An absolute path, not `/` itself, without `.`/`..` segments, empty segments or control characters. */
const HD036 = { params: { rule: 'HD036' } } as const;
const HD035 = { params: { rule: 'HD035' } } as const;
export const absolutePath = z.string()
  .refine((p) => /^\/(?!.*(^|\/)\.\.?(\/|$))/.test(p), { error: 'must be an absolute path without "." or ".." segments', ...HD036 })
  .refine((p) => p !== '/' && !p.includes('//'), { error: 'must name a directory below / (not / itself, no empty segments)', ...HD036 })
  .refine((p) => !/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(p), { error: 'must not contain control characters or line separators', ...HD036 });
/** A path relative to a volume: no leading `/`, no `..` segments. */
export const relativeSubPath = z.string().min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), { error: 'must be a relative path inside the volume (no leading "/", no "..")', ...HD036 })
  .refine((p) => !/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(p), { error: 'must not contain control characters or line separators', ...HD036 });
/** A quantity greater than zero: `0` means "no limit" to Kubernetes, and negative sizes are refused. */
export const quantity = z.string().refine(isQuantity, { error: 'must be a Kubernetes quantity such as 64Mi, 1Gi or 250m', ...HD035 })
  .refine((q) => !isQuantity(q) || parseQuantity(q) > 0, { error: 'must be greater than zero (0 means no limit to Kubernetes)', ...HD035 });
export const id = z.number().int().min(MIN_ID, `must be >= ${MIN_ID} (0 is root; IDs below ${MIN_ID} collide with host users)`).max(2 ** 31 - 1);
export const port = z.number().int().min(1).max(65535);
/** An IANA service name, as Kubernetes requires of port names: at most 15 characters, a letter among them, no "--". */
export const portName = z.string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-", starting and ending with a letter or digit')
  .max(15, 'must be at most 15 characters')
  .refine((n) => /[a-z]/.test(n) && !n.includes('--'), 'must contain a letter and no "--" (an IANA service name)');
export const portRef = z.union([port, portName]);
export const nonNegativeInt = z.number().int().min(0).max(2 ** 31 - 1);
export const positiveInt = z.number().int().min(1).max(2 ** 31 - 1);
/** `10`, or a percentage such as `25%`. */
export const intOrPercent = z.union([nonNegativeInt, z.string().regex(/^(100|[1-9]?[0-9])%$/, 'must be a number or a percentage such as 25%')]);

const qualifiedName = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const labelKey = z.string().regex(qualifiedName, 'must be a label key: an optional DNS-subdomain prefix and "/", then at most 63 letters, digits, "-", "_" and "."');
export const labelValue = z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, 'must be a label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit');
export const labelMap = z.record(labelKey, labelValue);
export const annotationMap = z.record(labelKey, z.string());

const probe = z.strictObject({
  http: z.strictObject({ path: z.string().startsWith('/'), port: portRef, scheme: z.enum(['HTTP', 'HTTPS']).optional() }).optional(),
  tcp: z.strictObject({ port: portRef }).optional(),
  grpc: z.strictObject({ port, service: z.string().optional() }).optional(),
  exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
  initialDelaySeconds: nonNegativeInt.optional(),
  periodSeconds: positiveInt.optional(),
  timeoutSeconds: positiveInt.optional(),
  failureThreshold: positiveInt.optional(),
}).refine((p) => [p.http, p.tcp, p.grpc, p.exec].filter(Boolean).length === 1, 'a probe needs exactly one of http, tcp, grpc or exec');

const writablePath = z.union([
  z.strictObject({ path: absolutePath, sizeLimit: quantity, medium: z.literal('Memory').optional() }),
  z.strictObject({ path: absolutePath, claimName: dnsSubdomain, subPath: relativeSubPath.optional() }),
  z.strictObject({
    path: absolutePath,
    storage: z.strictObject({ size: quantity, storageClassName: dnsSubdomain.optional(), accessMode: z.enum(['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany']).optional() }),
    subPath: relativeSubPath.optional(),
  }),
], { error: 'a writable path is { path, sizeLimit } (emptyDir), { path, claimName } (an existing PersistentVolumeClaim) or { path, storage: { size } } (a new claim); hostPath is not available' });

/** A request and a limit: the request may not exceed the limit (the API server refuses it). */
const requestNotAboveLimit = (r: { request: string; limit?: string }) =>
  !isQuantity(r.request) || r.limit === undefined || !isQuantity(r.limit) || parseQuantity(r.request) <= parseQuantity(r.limit);
const overLimit = { error: 'the request is larger than the limit (the API server refuses it)', path: ['request'], ...HD035 };
const requestAndLimit = z.strictObject({ request: quantity, limit: quantity }).refine(requestNotAboveLimit, overLimit);
const requestAndOptionalLimit = z.strictObject({ request: quantity, limit: quantity.optional() }).refine(requestNotAboveLimit, overLimit);

export const containerSchema = z.strictObject({
  name: dnsLabel,
  image: z.union([z.string(), z.object({ imageRef: z.string() }).loose()], { error: 'image must be a digest-pinned reference string or a CustomizedImage' })
    .refine((v) => isDigestPinned(imageRefOf(v)), { error: (iss) => `image ${JSON.stringify(imageRefOf(iss.input))} is not pinned by digest` }),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: absolutePath.optional(),
  ports: z.array(z.strictObject({ containerPort: port, name: portName.optional(), protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional() })).optional(),
  env: z.record(z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'must be a valid environment variable name'), z.string()).optional(),
  resources: z.strictObject({
    cpu: requestAndOptionalLimit.optional(),
    memory: requestAndLimit.optional(),
    ephemeralStorage: requestAndLimit.optional(),
  }).optional(),
  writablePaths: z.array(writablePath).optional(),
  probes: z.strictObject({ readiness: probe.optional(), liveness: probe.optional(), startup: probe.optional() }).optional(),
  netBindService: z.boolean().optional(),
  // Checked one by one by the builder (attachmentProblems): only EnvConfigs made by the library.
  config: z.array(z.unknown()).optional(),
});

const selectorExpression = z.strictObject({ key: labelKey, operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(labelValue).optional() });
const labelSelector = z.strictObject({ matchLabels: labelMap.optional(), matchExpressions: z.array(selectorExpression).optional() });
const nodeSelectorTerm = z.strictObject({
  matchExpressions: z.array(z.strictObject({ key: labelKey, operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']), values: z.array(labelValue).optional() })).optional(),
});
const podAffinityTerm = z.strictObject({ labelSelector: labelSelector.optional(), topologyKey: labelKey, namespaces: z.array(dnsLabel).optional() });
const weighted = <T extends z.ZodType>(key: string, term: T) => z.array(z.strictObject({ weight: z.number().int().min(1).max(100), [key]: term }));
const podAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: weighted('podAffinityTerm', podAffinityTerm).optional(),
});

/** What every workload kind takes (the pod and its scheduling). */
export const podShape = {
  name: dnsLabel,
  namespace: namespaceName.optional(),
  labels: labelMap.optional(),
  annotations: annotationMap.optional(),
  containers: z.array(containerSchema).min(1, 'a workload needs at least one container'),
  initContainers: z.array(containerSchema).optional(),
  runAsUser: id.optional(),
  runAsGroup: id.optional(),
  nodeSelector: labelMap.optional(),
  tolerations: z.array(z.strictObject({
    key: labelKey.optional(),
    operator: z.enum(['Equal', 'Exists']).optional(),
    value: labelValue.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.number().int().optional(),
  })).optional(),
  affinity: z.strictObject({
    nodeAffinity: z.strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1) }).optional(),
      preferredDuringSchedulingIgnoredDuringExecution: weighted('preference', nodeSelectorTerm).optional(),
    }).optional(),
    podAffinity: podAffinity.optional(),
    podAntiAffinity: podAffinity.optional(),
  }).optional(),
  priorityClassName: dnsSubdomain.optional(),
  terminationGracePeriodSeconds: nonNegativeInt.optional(),
};

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
        // Own keys only: `__proto__` or `constructor` must not find Object.prototype's members.
        const forbidden = Object.hasOwn(FORBIDDEN_KEYS, key) ? FORBIDDEN_KEYS[key] : undefined;
        out.push(forbidden
          ? { code: forbidden.code, path: at(key), message: `"${key}" cannot be set: ${forbidden.why}`, fix: `remove "${key}"` }
          : { code: 'PROP001', path: at(key), message: `"${key}" is not a known prop`, fix: 'remove it or correct its spelling' });
      }
      continue;
    }
    const last = issue.path[issue.path.length - 1];
    const declared = issue.code === 'custom' ? (issue.params as { rule?: string } | undefined)?.rule : undefined;
    const rule = declared ?? (last === 'runAsUser' || last === 'runAsGroup' ? 'HD002' : last === 'image' ? 'HD003' : undefined);
    out.push({ code: rule ?? 'PROP002', path: at(), message: issue.message, fix: (rule && Object.hasOwn(FIELD_FIXES, rule) ? FIELD_FIXES[rule] : undefined) ?? 'correct the value' });
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
