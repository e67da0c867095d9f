import { isDigestPinned } from '../core/image-ref';
import { ENV_PROGRAM, ENV_SPLIT_FLAG, FLOCK_COMMAND_FLAG, FLOCK_PROGRAM, SHELL_STARTER, SHELL_WORD, toJsRegExp } from './cel/patterns';
import { containersOf, effective, LONG_RUNNING_KINDS, type ContainerSite } from './pod-spec';
import type { Finding, Json, PodSpecSite, Rule } from './rule';
import { looksLikeSecretName, secretValueReason } from './secret-patterns';

/** The lowest UID/GID we accept: below it, IDs collide with system users on the host. */
export const MIN_ID = 10000;

const ALLOWED_VOLUME_TYPES = ['emptyDir', 'persistentVolumeClaim', 'configMap', 'secret', 'projected', 'downwardAPI', 'ephemeral'];
const READ_ONLY_VOLUME_TYPES = new Set(['configMap', 'secret', 'projected', 'downwardAPI']);
/** A switch that is set to anything but false (true, or a value the API server would not take as false). */
const notFalse = (v: unknown): boolean => v !== undefined && v !== null && v !== false;

/** The taints kubeadm and older clusters put on control-plane nodes (HD041). */
export const CONTROL_PLANE_TAINTS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

const CONTAINER_ONLY_SECURITY_FIELDS = ['readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'privileged', 'procMount'];

type PodCheck = (pod: PodSpecSite) => Finding[];

/** A rule that looks only at pod specs (and is silent on other objects). */
function podRule(id: string, title: string, fix: string, check: PodCheck): Rule {
  return { id, title, fix, check: (_o, pod) => (pod ? check(pod) : []) };
}

/** For each container (including init containers), run `check`. */
function eachContainer(pod: PodSpecSite, check: (c: ReturnType<typeof containersOf>[number]) => Finding | Finding[] | undefined): Finding[] {
  const out: Finding[] = [];
  for (const c of containersOf(pod)) {
    const r = check(c);
    if (Array.isArray(r)) out.push(...r);
    else if (r) out.push(r);
  }
  return out;
}

/** One element of an argv, with its JSON pointer. */
interface ArgvElement {
  readonly value: string;
  readonly path: string;
}

const SHELL = toJsRegExp(SHELL_WORD);
const STARTER = toJsRegExp(SHELL_STARTER);
/** A program that turns one of its arguments into a command line, and the flag that does it. */
const STRING_RUNNERS: readonly [RegExp, RegExp, string][] = [
  [toJsRegExp(ENV_PROGRAM), toJsRegExp(ENV_SPLIT_FLAG), 'env -S splits a string into a command line that no rule can read'],
  [toJsRegExp(FLOCK_PROGRAM), toJsRegExp(FLOCK_COMMAND_FLAG), 'flock -c runs its command through sh -c'],
];

/** The elements of a string list (`command`, `args`, an exec handler's `command`) with their paths. */
function argvAt(list: unknown, path: string): ArgvElement[] {
  return Array.isArray(list) ? list.flatMap((v, i) => (typeof v === 'string' ? [{ value: v, path: `${path}/${i}` }] : [])) : [];
}

/**
 * Why an argv runs a shell, or undefined. Every element is looked at (SHELL_WORD), so a wrapper in
 * front of the shell hides nothing, whatever its options; the CEL policy runs the same patterns.
 */
function shellProblem(argv: readonly ArgvElement[]): Finding | undefined {
  const shell = argv.find((a) => SHELL.test(a.value));
  if (shell) return { path: shell.path, message: `${JSON.stringify(shell.value)} names a shell` };
  const starter = argv.find((a) => STARTER.test(a.value));
  if (starter) return { path: starter.path, message: `${JSON.stringify(starter.value)} starts a shell of its own` };
  for (const [program, flag, why] of STRING_RUNNERS) {
    const at = argv.find((a) => flag.test(a.value));
    if (at && argv.some((a) => program.test(a.value))) return { path: at.path, message: `${JSON.stringify(at.value)}: ${why}` };
  }
  return undefined;
}

/** Every argv a container runs: its own (`command` then `args`), its exec probes and its exec hooks. */
function argvsOf(c: ContainerSite): [string, ArgvElement[]][] {
  const k = c.container;
  return [
    ['the container', [...argvAt(k.command, `${c.path}/command`), ...argvAt(k.args, `${c.path}/args`)]],
    ...['livenessProbe', 'readinessProbe', 'startupProbe'].map((p): [string, ArgvElement[]] => [`the ${p}`, argvAt(k[p]?.exec?.command, `${c.path}/${p}/exec/command`)]),
    ...['postStart', 'preStop'].map((h): [string, ArgvElement[]] => [`the ${h} hook`, argvAt(k.lifecycle?.[h]?.exec?.command, `${c.path}/lifecycle/${h}/exec/command`)]),
  ];
}

/** Every volume source a volume names: every key but `name` whose value is set (upstream Pod Security judges each). */
function volumeSources(v: Json): string[] {
  return Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
}

function declaredPorts(c: Json): number[] {
  return Array.isArray(c.ports) ? c.ports.map((p: Json) => Number(p?.containerPort)).filter((n: number) => Number.isFinite(n)) : [];
}

/** The pod-level security setting, when set (null is unset, as Go reads it). */
function podLevel(pod: PodSpecSite, field: string): { value: unknown; path: string } | undefined {
  const value = pod.spec.securityContext?.[field];
  return value === undefined || value === null ? undefined : { value, path: `${pod.path}/securityContext/${field}` };
}

/** Findings without repeats (containers that inherit the same pod value report it once). */
function distinct(found: Finding[]): Finding[] {
  return [...new Map(found.map((f) => [`${f.path}\0${f.message}`, f])).values()];
}

function literalSecretFinding(c: ContainerSite, e: Json, i: number): Finding | undefined {
  if (typeof e?.value !== 'string' || e.value === '') return undefined;
  const reason = secretValueReason(e.value) ?? (looksLikeSecretName(String(e.name)) ? `its name ${JSON.stringify(e.name)} says it is a secret` : undefined);
  return reason ? { path: `${c.path}/env/${i}/value`, message: `env ${e.name} has a literal value that ${reason.startsWith('its') ? `looks secret: ${reason}` : reason}` } : undefined;
}

/** Names ending in `_FILE` (`POSTGRES_PASSWORD_FILE`): by convention the path of a file holding the value. */
export const FILE_REFERENCE_NAME = '(?i)_FILE$';
const FILE_REFERENCE_RE = /_FILE$/i;
/**
 * `*_FILE` names that point at a secret (`POSTGRES_PASSWORD_FILE`, `API_TOKEN_FILE`, `TLS_KEY_FILE`):
 * their file must come from a Secret, ConfigMap or projected volume. Others (`LOG_FILE`,
 * `SSL_CERT_FILE` into the image's trust store) only need to be a path.
 */
export const SECRET_FILE_REFERENCE_NAME = '(?i)(?:pass(?:word|wd|phrase)?|secret|token|key|credentials?|dsn|auth)_FILE$';
const SECRET_FILE_REFERENCE_RE = new RegExp(SECRET_FILE_REFERENCE_NAME.slice(4), 'i');
/** Volume types whose files come from a Secret or ConfigMap. */
export const FILE_VOLUME_TYPES = ['secret', 'configMap', 'projected'];
const DOT_DOT_SEGMENT = /(?:^|\/)\.\.(?:\/|$)/;

function fileVolumeNames(pod: PodSpecSite): Set<unknown> {
  const volumes: Json[] = Array.isArray(pod.spec.volumes) ? pod.spec.volumes : [];
  return new Set(volumes.filter((v) => v && FILE_VOLUME_TYPES.some((t) => v[t] !== undefined)).map((v) => v.name));
}

/** A path at or under a mount path (`/etc/app/x` is under `/etc/app` and `/etc/app/`). */
export function isUnderMount(path: string, mountPath: string): boolean {
  return path === mountPath || path.startsWith(mountPath.endsWith('/') ? mountPath : `${mountPath}/`);
}

/** A `*_FILE` variable must hold an absolute path inside a Secret, ConfigMap or projected volume the container mounts. */
function fileReferenceFinding(c: ContainerSite, e: Json, i: number, fileVolumes: Set<unknown>): Finding | undefined {
  if (typeof e?.name !== 'string' || !FILE_REFERENCE_RE.test(e.name) || e.value === undefined) return undefined;
  const value = e.value;
  const mounts: Json[] = Array.isArray(c.container.volumeMounts) ? c.container.volumeMounts : [];
  const isPath = typeof value === 'string' && value.startsWith('/') && !DOT_DOT_SEGMENT.test(value);
  const ok = isPath && (!SECRET_FILE_REFERENCE_RE.test(e.name)
    || mounts.some((m) => m && typeof m.mountPath === 'string' && fileVolumes.has(m.name) && isUnderMount(value, m.mountPath)));
  if (ok) return undefined;
  const what = typeof value === 'string' && value.startsWith('/') ? `the path ${JSON.stringify(value)}, which is not inside a Secret, ConfigMap or projected volume the container mounts` : `${JSON.stringify(value)}, not a path`;
  return { path: `${c.path}/env/${i}/value`, message: `env ${e.name} holds ${what}`, fix: `mount the Secret (EnvConfig secrets) and set ${e.name} to the path of its file, e.g. /var/run/secrets/<name>/<key>` };
}

export const POD_RULES: Rule[] = [
  podRule('HD001', 'containers run as non-root (runAsNonRoot: true)',
    'set securityContext.runAsNonRoot: true (HardenedDeployment always does)',
    (pod) => {
      const found = eachContainer(pod, (c) => {
        const nonRoot = effective(pod, c, 'runAsNonRoot');
        if (nonRoot.value !== true) return { path: nonRoot.path, message: `runAsNonRoot is ${JSON.stringify(nonRoot.value ?? null)}, so the container may run as root` };
        return undefined;
      });
      // Pod Security refuses runAsNonRoot: false on the pod even when every container overrides it.
      const own = podLevel(pod, 'runAsNonRoot');
      if (own && own.value !== true) found.push({ path: own.path, message: `runAsNonRoot is ${JSON.stringify(own.value)} on the pod, so a container that does not override it may run as root` });
      return distinct(found);
    }),
  podRule('HD002', `containers run with a fixed UID and GID of at least ${MIN_ID} (default 65532), and in no group below it`,
    'set securityContext.runAsUser and runAsGroup to 65532 (or another ID >= 10000); leave out supplementalGroups below 10000 (0 is the root group)',
    (pod) => {
      const out = eachContainer(pod, (c) => {
        const found: Finding[] = [];
        for (const field of ['runAsUser', 'runAsGroup']) {
          const e = effective(pod, c, field);
          if (e.value === undefined) found.push({ path: e.path, message: `${field} is not set, so the image decides who the process runs as` });
          else if (typeof e.value !== 'number' || !Number.isInteger(e.value) || e.value < MIN_ID)
            found.push({ path: e.path, message: `${field} is ${JSON.stringify(e.value)}; it must be an integer >= ${MIN_ID}${e.value === 0 ? ' (0 is root)' : ''}` });
        }
        return found;
      });
      // The pod's own IDs are judged too, even where every container overrides them (Pod Security refuses runAsUser: 0 on the pod).
      for (const field of ['runAsUser', 'runAsGroup', 'fsGroup']) {
        const own = podLevel(pod, field);
        if (own && (typeof own.value !== 'number' || !Number.isInteger(own.value) || own.value < MIN_ID))
          out.push({ path: own.path, message: `${field} is ${JSON.stringify(own.value)}; it must be an integer >= ${MIN_ID}${own.value === 0 ? ' (0 is root)' : ''}` });
      }
      // Supplementary groups are groups the process is in: group 0 (root) reads and writes what root's group may.
      const groups = podLevel(pod, 'supplementalGroups');
      if (groups) {
        const list = Array.isArray(groups.value) ? groups.value : [groups.value];
        list.forEach((g, i) => {
          if (typeof g !== 'number' || !Number.isInteger(g) || g < MIN_ID)
            out.push({ path: Array.isArray(groups.value) ? `${groups.path}/${i}` : groups.path, message: `supplementalGroups holds ${JSON.stringify(g)}; every group must be an integer >= ${MIN_ID}${g === 0 ? ' (0 is the root group)' : ''}` });
        });
      }
      return distinct(out);
    }),
  podRule('HD003', 'images are pinned by digest',
    'use repo@sha256:<digest> (or repo:tag@sha256:<digest>), or a CustomizedImage',
    (pod) => eachContainer(pod, (c) =>
      isDigestPinned(c.container.image) ? undefined : {
        path: `${c.path}/image`,
        message: `image ${JSON.stringify(c.container.image ?? null)} is not pinned by digest`,
        fix: typeof c.container.image === 'string' && c.container.image
          ? `use ${c.container.image.replace(/@.*$/, '')}@sha256:<digest> or a CustomizedImage`
          : undefined,
      })),
  podRule('HD004', 'the root filesystem is read-only',
    'set securityContext.readOnlyRootFilesystem: true and mount a sized emptyDir or a PVC where the app writes',
    (pod) => eachContainer(pod, (c) =>
      c.container.securityContext?.readOnlyRootFilesystem === true ? undefined
        : { path: `${c.path}/securityContext/readOnlyRootFilesystem`, message: `readOnlyRootFilesystem is ${JSON.stringify(c.container.securityContext?.readOnlyRootFilesystem ?? null)}` })),
  podRule('HD005', 'privilege escalation is off',
    'set securityContext.allowPrivilegeEscalation: false',
    (pod) => eachContainer(pod, (c) =>
      c.container.securityContext?.allowPrivilegeEscalation === false ? undefined
        : { path: `${c.path}/securityContext/allowPrivilegeEscalation`, message: `allowPrivilegeEscalation is ${JSON.stringify(c.container.securityContext?.allowPrivilegeEscalation ?? null)}` })),
  podRule('HD006', 'containers are not privileged',
    'remove privileged: true; a privileged container is root on the node',
    (pod) => eachContainer(pod, (c) =>
      // Fail closed: anything but false or unset (a string, an unresolved value) is refused, not guessed at.
      notFalse(c.container.securityContext?.privileged)
        ? { path: `${c.path}/securityContext/privileged`, message: c.container.securityContext?.privileged === true ? 'the container is privileged' : `privileged is ${JSON.stringify(c.container.securityContext?.privileged)}, not false` } : undefined)),
  podRule('HD007', 'all capabilities are dropped; only NET_BIND_SERVICE may be added, for a declared port below 1024',
    'set capabilities.drop: [ALL] and add nothing (NET_BIND_SERVICE only with a containerPort < 1024)',
    (pod) => eachContainer(pod, (c) => {
      const caps = c.container.securityContext?.capabilities ?? {};
      const path = `${c.path}/securityContext/capabilities`;
      const found: Finding[] = [];
      const drop: unknown[] = Array.isArray(caps.drop) ? caps.drop : [];
      if (!drop.includes('ALL')) found.push({ path: `${path}/drop`, message: `capabilities.drop is ${JSON.stringify(caps.drop ?? null)}, not [ALL]` });
      const add: unknown[] = Array.isArray(caps.add) ? caps.add : [];
      add.forEach((cap, i) => {
        // Exactly NET_BIND_SERVICE: Pod Security restricted refuses every other spelling (CAP_NET_BIND_SERVICE, net_bind_service).
        if (cap !== 'NET_BIND_SERVICE') found.push({ path: `${path}/add/${i}`, message: `capability ${JSON.stringify(cap)} is added` });
        else if (!declaredPorts(c.container).some((p) => p < 1024))
          found.push({ path: `${path}/add/${i}`, message: 'NET_BIND_SERVICE is added but the container declares no port below 1024', fix: 'declare the privileged containerPort, or listen on a port >= 1024 and drop the capability' });
      });
      return found;
    })),
  podRule('HD008', 'the seccomp profile is RuntimeDefault',
    'set securityContext.seccompProfile.type: RuntimeDefault (pod or container)',
    (pod) => {
      const found = eachContainer(pod, (c) => {
        const e = effective(pod, c, 'seccompProfile');
        const type = (e.value as Json | undefined)?.type;
        return type === 'RuntimeDefault' ? undefined
          : { path: `${e.path}/type`, message: type ? `seccomp profile is ${JSON.stringify(type)}` : 'no seccomp profile is set (the runtime may run the container Unconfined)' };
      });
      // A pod-level profile is judged even where every container sets its own (Pod Security refuses it).
      const own = podLevel(pod, 'seccompProfile');
      const type = (own?.value as Json | undefined)?.type;
      if (own && type !== 'RuntimeDefault') found.push({ path: `${own.path}/type`, message: `the pod's seccomp profile is ${JSON.stringify(type ?? null)}` });
      return distinct(found);
    }),
  podRule('HD009', 'the pod does not share host namespaces',
    'remove hostNetwork, hostPID and hostIPC',
    (pod) => ['hostNetwork', 'hostPID', 'hostIPC']
      .filter((f) => notFalse(pod.spec[f]))
      .map((f) => ({ path: `${pod.path}/${f}`, message: `${f} is ${JSON.stringify(pod.spec[f])}` }))),
  // Not a Pod Security control: with shareProcessNamespace one container reads another's
  // environment and files through /proc/<pid>/root (every hardened container runs as UID 65532).
  podRule('HD039', 'containers do not share a process namespace',
    'remove shareProcessNamespace; a sidecar that must see the app\'s processes does not belong in a hardened pod',
    (pod) => (notFalse(pod.spec.shareProcessNamespace) ? [{ path: `${pod.path}/shareProcessNamespace`, message: `shareProcessNamespace is ${JSON.stringify(pod.spec.shareProcessNamespace)}: every container can read the others' environment and files through /proc` }] : [])),
  // Not Pod Security controls: where a pod runs. nodeName skips the scheduler, so NoSchedule taints
  // (the control plane's, a dedicated pool's) do not keep the pod off; a toleration of every taint,
  // or of the control plane's, does the same through the scheduler; a system-* priority class lets
  // the app preempt the cluster's own pods (since 1.17 it is not confined to kube-system).
  podRule('HD040', 'pods are placed by the scheduler, not pinned with nodeName',
    'remove nodeName; use nodeSelector or node affinity (the scheduler then honours taints)',
    (pod) => (pod.spec.nodeName !== undefined && pod.spec.nodeName !== null && pod.spec.nodeName !== ''
      ? [{ path: `${pod.path}/nodeName`, message: `nodeName is ${JSON.stringify(pod.spec.nodeName)}: the pod skips the scheduler and lands on that node whatever its NoSchedule taints` }] : [])),
  podRule('HD041', 'no toleration of every taint or of the control plane\'s taints',
    'tolerate the taints of the pool the app runs on, by key (key: <taint>, operator: Equal or Exists)',
    (pod) => (Array.isArray(pod.spec.tolerations) ? pod.spec.tolerations : []).flatMap((t: Json, i: number) => {
      const at = `${pod.path}/tolerations/${i}`;
      if (!t || typeof t !== 'object') return [{ path: at, message: `toleration ${JSON.stringify(t)} is not an object` }];
      if ((t.key === undefined || t.key === null || t.key === '') && t.operator === 'Exists')
        return [{ path: at, message: 'a toleration with operator Exists and no key tolerates every taint: the control plane\'s, and every dedicated pool\'s' }];
      if (typeof t.key === 'string' && CONTROL_PLANE_TAINTS.includes(t.key))
        return [{ path: `${at}/key`, message: `${t.key} is the control plane's taint: the pod would run beside the API server and etcd` }];
      return [];
    })),
  podRule('HD042', 'no system priority class',
    'use a priority class of your own (a PriorityClass whose name does not start with system-), or none',
    (pod) => (typeof pod.spec.priorityClassName === 'string' && pod.spec.priorityClassName.startsWith('system-')
      ? [{ path: `${pod.path}/priorityClassName`, message: `${pod.spec.priorityClassName} is reserved for the cluster's own pods: the app could preempt them` }]
      : pod.spec.priorityClassName !== undefined && pod.spec.priorityClassName !== null && typeof pod.spec.priorityClassName !== 'string'
        ? [{ path: `${pod.path}/priorityClassName`, message: `priorityClassName is ${JSON.stringify(pod.spec.priorityClassName)}, not a name` }] : [])),
  podRule('HD010', 'no hostPath volumes',
    'use a sized emptyDir, a PersistentVolumeClaim, or bake the files into the image with cleanimg-customize',
    (pod) => (Array.isArray(pod.spec.volumes) ? pod.spec.volumes : [])
      .map((v: Json, i: number) => (v?.hostPath ? { path: `${pod.path}/volumes/${i}/hostPath`, message: `volume ${JSON.stringify(v.name)} mounts a host path (${JSON.stringify(v.hostPath.path)})` } : undefined))
      .filter(Boolean) as Finding[]),
  podRule('HD011', 'no host ports',
    'remove hostPort and expose the pod through a Service',
    (pod) => eachContainer(pod, (c) => (Array.isArray(c.container.ports) ? c.container.ports : [])
      .map((p: Json, i: number) => (p?.hostPort !== undefined && p.hostPort !== 0 ? { path: `${c.path}/ports/${i}/hostPort`, message: `hostPort ${p.hostPort} is set` } : undefined))
      .filter(Boolean) as Finding[])),
  podRule('HD012', `volumes are of safe types only (${ALLOWED_VOLUME_TYPES.join(', ')})`,
    'use a sized emptyDir or a PersistentVolumeClaim for writable data, a ConfigMap or Secret for config',
    (pod) => (Array.isArray(pod.spec.volumes) ? pod.spec.volumes : []).flatMap((v: Json, i: number): Finding[] => {
      const at = `${pod.path}/volumes/${i}`;
      const sources = v && typeof v === 'object' ? volumeSources(v) : [];
      const name = JSON.stringify(v?.name ?? null);
      if (sources.length === 0)
        return [{ path: at, message: `volume ${name} names no volume source (the API server would make it an emptyDir without a sizeLimit; Pod Security refuses it)`, fix: 'name the source: emptyDir with a sizeLimit, persistentVolumeClaim, configMap or secret' }];
      const found: Finding[] = sources
        .filter((t) => t !== 'hostPath' && !ALLOWED_VOLUME_TYPES.includes(t))
        .map((t) => ({ path: `${at}/${t}`, message: `volume ${name} is of type ${t}` }));
      if (sources.length > 1) found.push({ path: at, message: `volume ${name} names ${sources.length} volume sources (${sources.join(', ')}); a volume has exactly one` });
      return found;
    })),
  podRule('HD013', 'every emptyDir has a sizeLimit',
    'set emptyDir.sizeLimit (e.g. 64Mi) so a runaway writer cannot fill the node',
    (pod) => (Array.isArray(pod.spec.volumes) ? pod.spec.volumes : [])
      .map((v: Json, i: number) => (v?.emptyDir && !v.emptyDir.sizeLimit ? { path: `${pod.path}/volumes/${i}/emptyDir/sizeLimit`, message: `emptyDir ${JSON.stringify(v.name)} has no sizeLimit` } : undefined))
      .filter(Boolean) as Finding[]),
  podRule('HD014', 'containers request CPU, memory and ephemeral storage, and limit memory and ephemeral storage',
    'set resources.requests.{cpu,memory,ephemeral-storage} and resources.limits.{memory,ephemeral-storage}',
    (pod) => eachContainer(pod, (c) => {
      if (c.ephemeral) return undefined;
      const r = c.container.resources ?? {};
      const missing: string[] = [];
      for (const k of ['cpu', 'memory', 'ephemeral-storage']) if (r.requests?.[k] === undefined) missing.push(`requests.${k}`);
      for (const k of ['memory', 'ephemeral-storage']) if (r.limits?.[k] === undefined) missing.push(`limits.${k}`);
      return missing.length ? { path: `${c.path}/resources`, message: `missing ${missing.join(', ')}` } : undefined;
    })),
  podRule('HD015', 'the service account token is not mounted',
    'set automountServiceAccountToken: false (mount a projected token only where the app calls the API)',
    (pod) => (pod.spec.automountServiceAccountToken === false ? [] : [{ path: `${pod.path}/automountServiceAccountToken`, message: `automountServiceAccountToken is ${JSON.stringify(pod.spec.automountServiceAccountToken ?? null)}` }])),
  podRule('HD016', 'no command starts a shell (these images have none)',
    'run the binary directly in exec form, e.g. command: ["/app/server", "--flag"]',
    (pod) => eachContainer(pod, (c) => argvsOf(c).flatMap(([who, argv]) => {
      const problem = shellProblem(argv);
      return problem ? [{ ...problem, message: `${who} runs a shell: ${problem.message}` }] : [];
    }))),
  podRule('HD017', 'secrets reach containers as read-only files, never as environment variables',
    'mount the Secret as a read-only volume (EnvConfig secrets) and read the file; env vars leak into logs, crash dumps and child processes',
    (pod) => eachContainer(pod, (c) => {
      const found: Finding[] = [];
      (Array.isArray(c.container.env) ? c.container.env : []).forEach((e: Json, i: number) => {
        if (e?.valueFrom?.secretKeyRef) found.push({ path: `${c.path}/env/${i}/valueFrom/secretKeyRef`, message: `env ${e.name} comes from Secret ${JSON.stringify(e.valueFrom.secretKeyRef.name)}` });
      });
      (Array.isArray(c.container.envFrom) ? c.container.envFrom : []).forEach((e: Json, i: number) => {
        if (e?.secretRef) found.push({ path: `${c.path}/envFrom/${i}/secretRef`, message: `all keys of Secret ${JSON.stringify(e.secretRef.name)} become env vars` });
      });
      return found;
    })),
  podRule('HD018', 'no secret values are written literally into env',
    'move the value into a Secret (created outside Git) and mount it as a file; a *_FILE variable holds the path of that file',
    (pod) => {
      const fileVolumes = fileVolumeNames(pod);
      return eachContainer(pod, (c) => (Array.isArray(c.container.env) ? c.container.env : [])
        .flatMap((e: Json, i: number) => [literalSecretFinding(c, e, i), fileReferenceFinding(c, e, i, fileVolumes)])
        .filter(Boolean) as Finding[]);
    }),
  podRule('HD019', 'long-running containers have readiness and liveness probes',
    'add readinessProbe and livenessProbe (httpGet, tcpSocket or grpc; exec without a shell)',
    (pod) => {
      if (!LONG_RUNNING_KINDS.has(pod.ownerKind)) return [];
      return eachContainer(pod, (c) => {
        if (c.init || c.ephemeral) return undefined;
        const missing = ['readinessProbe', 'livenessProbe'].filter((p) => !c.container[p]);
        return missing.length ? { path: `${c.path}/${missing[0]}`, message: `no ${missing.join(' or ')}` } : undefined;
      });
    }),
  podRule('HD020', 'container-only security fields are set on containers, not on the pod',
    'move readOnlyRootFilesystem, allowPrivilegeEscalation, capabilities and privileged into each container\'s securityContext (the API server rejects them at pod level)',
    (pod) => CONTAINER_ONLY_SECURITY_FIELDS
      .filter((f) => pod.spec.securityContext?.[f] !== undefined)
      .map((f) => ({ path: `${pod.path}/securityContext/${f}`, message: `${f} is not a field of PodSecurityContext; the API server rejects it (strict validation) or drops it` }))),
  podRule('HD021', 'ConfigMap, Secret and projected volumes are mounted read-only',
    'set readOnly: true on the volumeMount',
    (pod) => {
      // Every source of a volume counts, not only the first key.
      const kinds = new Map<string, string>();
      for (const v of Array.isArray(pod.spec.volumes) ? pod.spec.volumes : []) {
        const t = v && typeof v === 'object' ? volumeSources(v).find((x) => READ_ONLY_VOLUME_TYPES.has(x)) : undefined;
        if (v?.name && t) kinds.set(v.name, t);
      }
      return eachContainer(pod, (c) => (Array.isArray(c.container.volumeMounts) ? c.container.volumeMounts : [])
        .map((m: Json, i: number) => {
          const t = kinds.get(m?.name);
          return t && m.readOnly !== true
            ? { path: `${c.path}/volumeMounts/${i}/readOnly`, message: `${t} volume ${JSON.stringify(m.name)} is mounted at ${m.mountPath} without readOnly: true` } : undefined;
        })
        .filter(Boolean) as Finding[]);
    }),
];

const SELECTOR_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);
const TEMPLATE_KINDS = new Set([...SELECTOR_KINDS, 'ReplicationController', 'Job', 'CronJob']);

/** Rules about the workload object around the pod spec. */
export const WORKLOAD_RULES: Rule[] = [
  {
    id: 'HD022',
    title: 'workloads have a pod template, and a selector that matches its labels',
    fix: 'put the pod spec under spec.template.spec, and set spec.selector.matchLabels to labels of spec.template.metadata.labels (HardenedDeployment does both)',
    check(o, pod) {
      const kind = o.kind ?? '';
      if (!TEMPLATE_KINDS.has(kind)) return [];
      if (!pod) {
        const where = kind === 'CronJob' ? '/spec/jobTemplate/spec/template/spec' : '/spec/template/spec';
        return [{ path: where, message: `${kind} has no pod template at ${where}, so the API server rejects it and no other rule can check its containers` }];
      }
      if (!SELECTOR_KINDS.has(kind)) return [];
      const spec = (o as Json).spec ?? {};
      const match = spec.selector?.matchLabels;
      const exprs = spec.selector?.matchExpressions;
      if ((!match || typeof match !== 'object' || Object.keys(match).length === 0) && !(Array.isArray(exprs) && exprs.length))
        return [{ path: '/spec/selector', message: `${kind} has no selector (apps/v1 requires one)` }];
      const labels = spec.template?.metadata?.labels ?? {};
      const missing = Object.entries(match ?? {}).filter(([k, v]) => labels[k] !== v).map(([k, v]) => `${k}=${String(v)}`);
      return missing.length ? [{ path: '/spec/template/metadata/labels', message: `the pod template lacks the selector's labels ${missing.join(', ')}, so the API server rejects it` }] : [];
    },
  },
];
