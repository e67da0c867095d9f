/**
 * Framework-neutral shapes of the example scenarios: each scenario's props.ts gives the props once,
 * and both the cdk8s chart and the Pulumi program build from them (so a test can compare the two).
 * `C` is whatever the face passes as a container's config: a cdk8s or a Pulumi EnvConfig.
 */
import type {
  EgressAllow, HardenedContainerProps, HardenedCronJobProps, HardenedDeploymentProps, HardenedNamespaceProps, HardenedStatefulSetProps, NetworkPeer,
} from 'cleanimg';

export type ContainerPropsWith<C> = Omit<HardenedContainerProps, 'config'> & { readonly config?: readonly C[] };

/** A kind's props with containers whose config is the face's EnvConfig. */
export type WithConfig<P extends { readonly containers: unknown; readonly initContainers?: unknown }, C> = Omit<P, 'containers' | 'initContainers'> & {
  readonly containers: readonly ContainerPropsWith<C>[];
  readonly initContainers?: readonly ContainerPropsWith<C>[];
};

export type DeploymentPropsWith<C> = WithConfig<HardenedDeploymentProps, C>;
export type StatefulSetPropsWith<C> = WithConfig<HardenedStatefulSetProps, C>;
export type CronJobPropsWith<C> = WithConfig<HardenedCronJobProps, C>;

/** A scenario's HardenedNamespace props (the workloads are added by each face). */
export type NamespacePropsOf = Omit<HardenedNamespaceProps, 'workloads'>;

/** Who may reach a workload (beyond that, only its declared ports are open) and what it may reach beyond DNS. */
export interface WorkloadTraffic {
  readonly ingressFrom?: readonly NetworkPeer[];
  readonly egressTo?: readonly EgressAllow[];
}
