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

/** Access modes a new claim may ask for (`ReadOnlyMany` is not writable, so it is not offered here). */
export type WritableAccessMode = 'ReadWriteOnce' | 'ReadWriteOncePod' | 'ReadWriteMany';

/** Storage to create for a writable path: a PersistentVolumeClaim (a claim template in a StatefulSet). */
export interface StorageProps {
  /** Requested size, e.g. `10Gi`. */
  readonly size: Quantity;
  /** @default the cluster's default StorageClass */
  readonly storageClassName?: string;
  /**
   * `ReadWriteOnce` (one node) is refused with more than one replica or autoscaling on a
   * Deployment; a single-replica Deployment with such a claim is updated with `Recreate`.
   * @default ReadWriteOnce
   */
  readonly accessMode?: WritableAccessMode;
}

/** A writable directory backed by a PersistentVolumeClaim that this workload creates. */
export interface WritableStorage {
  /** Absolute path in the container. */
  readonly path: string;
  readonly storage: StorageProps;
  /** Mount only this subdirectory of the volume. @default the whole volume */
  readonly subPath?: string;
}

export type WritablePath = WritableEmptyDir | WritableClaim | WritableStorage;

/** A probe: exactly one of `http`, `tcp`, `grpc` or `exec` (exec runs a binary directly: there is no shell). */
export interface ProbeProps {
  /** An HTTP GET. @default none (one of http, tcp, grpc, exec) */
  readonly http?: { readonly path: string; readonly port: number | string; readonly scheme?: 'HTTP' | 'HTTPS' };
  /** A TCP connect. @default none */
  readonly tcp?: { readonly port: number | string };
  /** A gRPC health check. @default none */
  readonly grpc?: { readonly port: number; readonly service?: string };
  /** A binary run in the container, without a shell. @default none */
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
  /** IANA service name, used by Services and probes. @default unnamed */
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
  /** Proof that the library made it (see src/core/attachment.ts): a look-alike object is refused. */
  readonly seal: string;
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


/** A toleration of a node taint (scheduling only: it grants no privilege). */
export interface TolerationProps {
  /** The taint key; not a control-plane taint (HD041). Required in effect: without it, operator Exists tolerates every taint (HD041). @default none */
  readonly key?: string;
  /** @default Equal */
  readonly operator?: 'Equal' | 'Exists';
  /** The taint value (operator Equal). @default empty */
  readonly value?: string;
  /** @default every effect */
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  /** How long a NoExecute taint is tolerated. @default forever */
  readonly tolerationSeconds?: number;
}

/** A label selector term: `matchLabels` and/or `matchExpressions`. */
export interface LabelSelectorProps {
  /** @default none */
  readonly matchLabels?: Readonly<Record<string, string>>;
  /** @default none */
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; readonly values?: readonly string[] }[];
}

/** A node selector term of node affinity. */
export interface NodeSelectorTermProps {
  /** @default none */
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'; readonly values?: readonly string[] }[];
}

/** A pod (anti-)affinity term. */
export interface PodAffinityTermProps {
  /** The pods the term is about. @default no pods */
  readonly labelSelector?: LabelSelectorProps;
  readonly topologyKey: string;
  /** Where those pods are. @default the workload's namespace */
  readonly namespaces?: readonly string[];
}

/** Kubernetes affinity, as in the Pod API (scheduling only: it grants no privilege). */
export interface AffinityProps {
  /** @default none */
  readonly nodeAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: { readonly nodeSelectorTerms: readonly NodeSelectorTermProps[] };
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly { readonly weight: number; readonly preference: NodeSelectorTermProps }[];
  };
  /** @default none */
  readonly podAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTermProps[];
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly { readonly weight: number; readonly podAffinityTerm: PodAffinityTermProps }[];
  };
  /** @default none (the default spread is topologySpreadConstraints, not anti-affinity) */
  readonly podAntiAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTermProps[];
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly { readonly weight: number; readonly podAffinityTerm: PodAffinityTermProps }[];
  };
}

/** Soft topology spread of the workload's pods (`whenUnsatisfiable: ScheduleAnyway`). */
export interface SpreadProps {
  /** Spread across nodes (`kubernetes.io/hostname`). @default true */
  readonly nodes?: boolean;
  /** Spread across zones (`topology.kubernetes.io/zone`). @default false */
  readonly zones?: boolean;
  /** @default 1 */
  readonly maxSkew?: number;
}

/** What every hardened workload kind takes: the pod, and where it may be scheduled. */
export interface HardenedPodProps {
  /** Name of the workload and its ServiceAccount (DNS label). */
  readonly name: string;
  /** Not kube-system, kube-public or kube-node-lease. @default the namespace of the kubeconfig context */
  readonly namespace?: string;
  /** Extra labels on the workload and its pods; selectors always use `app.kubernetes.io/name`. @default none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Extra annotations on the workload. @default none */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly containers: readonly HardenedContainerProps[];
  /** @default none */
  readonly initContainers?: readonly HardenedContainerProps[];
  /** UID of every container. @default 65532 */
  readonly runAsUser?: NonRootId;
  /** GID of every container, and the pod's fsGroup. @default 65532 */
  readonly runAsGroup?: NonRootId;
  /** @default none */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** @default none */
  readonly tolerations?: readonly TolerationProps[];
  /** @default none */
  readonly affinity?: AffinityProps;
  /** Not a system class (`system-*`, HD042). @default none (the cluster's default priority) */
  readonly priorityClassName?: string;
  /** @default Kubernetes' 30 */
  readonly terminationGracePeriodSeconds?: number;
}

/** A HorizontalPodAutoscaler (autoscaling/v2) for the workload; `replicas` is then never written. */
export interface AutoscalingProps {
  /** @default 2 */
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  /** Average CPU utilization (% of the request) to aim for. @default 70 when no memory target is given */
  readonly cpuUtilization?: number;
  /** Average memory utilization (% of the request) to aim for. @default none */
  readonly memoryUtilization?: number;
}

/** A PodDisruptionBudget (policy/v1): at most one of the two. */
export interface DisruptionBudgetProps {
  /** @default 1 (when minAvailable is not given) */
  readonly maxUnavailable?: number | string;
  /** Instead of maxUnavailable. @default not set */
  readonly minAvailable?: number | string;
}

/** Replicas and the production shape of long-running kinds (Deployment, StatefulSet). */
export interface ScalingProps {
  /** Not with `autoscaling`. @default 2 (1 for a StatefulSet) */
  readonly replicas?: number;
  /** @default none */
  readonly autoscaling?: AutoscalingProps;
  /** `false` for none. @default maxUnavailable 1, with 2+ replicas or autoscaling */
  readonly disruptionBudget?: DisruptionBudgetProps | false;
  /** `false` for none. @default soft spread across nodes, with 2+ replicas or autoscaling */
  readonly spread?: SpreadProps | false;
}

export interface HardenedDeploymentProps extends HardenedPodProps, ScalingProps {
  /** @default RollingUpdate (Kubernetes' 25% surge / unavailable); Recreate for one replica with a claim */
  readonly strategy?: { readonly type: 'RollingUpdate'; readonly maxSurge?: number | string; readonly maxUnavailable?: number | string } | { readonly type: 'Recreate' };
}

export interface HardenedStatefulSetProps extends HardenedPodProps, ScalingProps {
  /** @default OrderedReady */
  readonly podManagementPolicy?: 'OrderedReady' | 'Parallel';
  /** @default RollingUpdate */
  readonly updateStrategy?: { readonly type: 'RollingUpdate'; readonly partition?: number; readonly maxUnavailable?: number | string } | { readonly type: 'OnDelete' };
  /** What happens to the claims when the StatefulSet is deleted or scaled down. @default Retain, Retain */
  readonly claimRetention?: { readonly whenDeleted?: 'Retain' | 'Delete'; readonly whenScaled?: 'Retain' | 'Delete' };
}

/** How a Job runs and gives up. */
export interface JobProps {
  /** Retries before the Job fails. @default 3 */
  readonly backoffLimit?: number;
  /** Seconds after which a running Job is stopped. @default none */
  readonly activeDeadlineSeconds?: number;
  /** Seconds after which a finished Job is deleted. @default none (kept) */
  readonly ttlSecondsAfterFinished?: number;
  /** @default Never */
  readonly restartPolicy?: 'Never' | 'OnFailure';
  /** @default 1 */
  readonly completions?: number;
  /** @default 1 */
  readonly parallelism?: number;
}

export interface HardenedJobProps extends HardenedPodProps, JobProps {}

export interface HardenedCronJobProps extends HardenedPodProps, JobProps {
  /** Five-field cron (`30 2 * * *`) or a macro (`@daily`, `@hourly`, ...). */
  readonly schedule: string;
  /** IANA time zone of the schedule, e.g. `Europe/Berlin`. @default the controller manager's */
  readonly timeZone?: string;
  /** @default Forbid */
  readonly concurrencyPolicy?: 'Forbid' | 'Replace' | 'Allow';
  /** A run that cannot start this long after its time is skipped. @default 300 */
  readonly startingDeadlineSeconds?: number;
  /** @default 3 */
  readonly successfulJobsHistoryLimit?: number;
  /** @default 1 */
  readonly failedJobsHistoryLimit?: number;
  /** @default false */
  readonly suspend?: boolean;
}
