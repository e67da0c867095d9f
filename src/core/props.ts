/**
 * The public props of the hardened core. Every field here is safe to set: there is no field that
 * turns a control off (no `privileged`, no `readOnlyRootFilesystem`, no `runAsUser: 0`, no
 * `seccompProfile`, no `hostPath`). What types cannot forbid is checked at run time by the rules.
 */
import type { ImageInput } from './image-ref';
import type { NonRootId } from './ids';

/** A Kubernetes quantity such as `64Mi`, `1Gi`, `250m`. */
export type Quantity = string;

/** A writable scratch directory backed by an emptyDir of bounded size. */
export interface WritableEmptyDir {
  /** Absolute path in the container. */
  readonly path: string;
  /** Upper bound of what may be written there, e.g. `64Mi`. Counts against ephemeral storage (or memory when `medium` is `Memory`). */
  readonly sizeLimit: Quantity;
  /** `Memory` for a tmpfs. @default node disk */
  readonly medium?: 'Memory';
}

/** A writable directory backed by an existing PersistentVolumeClaim. */
export interface WritableClaim {
  /** Absolute path in the container. */
  readonly path: string;
  /** Name of a PersistentVolumeClaim in the same namespace. */
  readonly claimName: string;
  /** Mount only this subdirectory of the volume. @default the whole volume */
  readonly subPath?: string;
}

export type WritablePath = WritableEmptyDir | WritableClaim;

/** A probe: exactly one of `http`, `tcp`, `grpc` or `exec` (exec runs a binary directly: there is no shell). */
export interface ProbeProps {
  readonly http?: { readonly path: string; readonly port: number | string; readonly scheme?: 'HTTP' | 'HTTPS' };
  readonly tcp?: { readonly port: number | string };
  readonly grpc?: { readonly port: number; readonly service?: string };
  readonly exec?: { readonly command: readonly string[] };
  /** @default 0 */
  readonly initialDelaySeconds?: number;
  /** @default 10 */
  readonly periodSeconds?: number;
  /** @default 1 */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly failureThreshold?: number;
}

export interface ProbesProps {
  /** @default a TCP check on the first declared port */
  readonly readiness?: ProbeProps;
  /** @default a TCP check on the first declared port */
  readonly liveness?: ProbeProps;
  /** @default none */
  readonly startup?: ProbeProps;
}

export interface ContainerPortProps {
  readonly containerPort: number;
  /** IANA service name, used by Services and probes. */
  readonly name?: string;
  /** @default TCP */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** Requests and limits. Defaults are small but real; raise them for real workloads. */
export interface ResourcesProps {
  /** @default { request: '100m' } (no CPU limit: throttling hurts latency more than it protects) */
  readonly cpu?: { readonly request: Quantity; readonly limit?: Quantity };
  /** @default { request: '128Mi', limit: '256Mi' } */
  readonly memory?: { readonly request: Quantity; readonly limit: Quantity };
  /** @default { request: '64Mi', limit: '1Gi' } */
  readonly ephemeralStorage?: { readonly request: Quantity; readonly limit: Quantity };
}

/**
 * What a container gets from an EnvConfig: volumes, read-only mounts and env vars, produced by
 * {@link envConfig} (core) or the EnvConfig construct/component.
 */
export interface EnvConfigAttachment {
  readonly volumes: readonly Record<string, unknown>[];
  readonly volumeMounts: readonly Record<string, unknown>[];
  readonly env: readonly Record<string, unknown>[];
}

export interface HardenedContainerProps {
  /** DNS label, unique in the pod. */
  readonly name: string;
  /** The image, pinned by digest: `repo@sha256:<digest>`, `repo:tag@sha256:<digest>`, or a CustomizedImage. */
  readonly image: ImageInput;
  /** Exec-form entrypoint override. A shell (`sh -c ...`) is refused: these images have none. @default the image's */
  readonly command?: readonly string[];
  /** @default the image's */
  readonly args?: readonly string[];
  /** @default the image's */
  readonly workingDir?: string;
  /** @default none */
  readonly ports?: readonly ContainerPortProps[];
  /** Literal, non-secret environment variables. Secret-looking names or values are refused. @default none */
  readonly env?: Readonly<Record<string, string>>;
  /** @default see ResourcesProps */
  readonly resources?: ResourcesProps;
  /**
   * Where the container may write. `/tmp` is always added (64Mi emptyDir) unless listed here.
   * @default [{ path: '/tmp', sizeLimit: '64Mi' }]
   */
  readonly writablePaths?: readonly WritablePath[];
  /** @default TCP readiness and liveness on the first port; required when the container has no port */
  readonly probes?: ProbesProps;
  /** Add NET_BIND_SERVICE, the only capability that may be added; needs a declared port below 1024. @default false */
  readonly netBindService?: boolean;
  /** EnvConfigs whose files, secrets and env vars this container receives (read-only). @default none */
  readonly config?: readonly EnvConfigAttachment[];
}

export interface HardenedDeploymentProps {
  /** Name of the Deployment and its ServiceAccount (DNS label). */
  readonly name: string;
  /** @default the namespace of the kubeconfig context */
  readonly namespace?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** Extra labels on the Deployment and its pods; selectors always use `app.kubernetes.io/name`. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly containers: readonly HardenedContainerProps[];
  /** @default none */
  readonly initContainers?: readonly HardenedContainerProps[];
  /** UID of every container. @default 65532 */
  readonly runAsUser?: NonRootId;
  /** GID of every container, and the pod's fsGroup. @default 65532 */
  readonly runAsGroup?: NonRootId;
}
