/**
 * The Pulumi face: the hardened core's objects as `@pulumi/kubernetes` resources inside
 * ComponentResources, and the policy pack's policies (the same rule list).
 */
export { HardenedWorkload, type WorkloadArgs, type HardenedContainerArgs, type ExposeOptions, type IngressOptions, type HttpRouteOptions, type PulumiImageInput } from './hardened-workload';
export { HardenedDeployment, HARDENED_DEPLOYMENT_TYPE, type HardenedDeploymentArgs } from './hardened-deployment';
export { HardenedStatefulSet, HARDENED_STATEFUL_SET_TYPE, type HardenedStatefulSetArgs } from './hardened-statefulset';
export { HardenedJob, HardenedCronJob, HARDENED_JOB_TYPE, HARDENED_CRON_JOB_TYPE, type HardenedJobArgs, type HardenedCronJobArgs } from './hardened-job';
export { EnvConfig, ENV_CONFIG_TYPE, SECRET_SOURCE_ANNOTATION, SECRET_SOURCE_PULUMI, type EnvConfigArgs, type ManagedSecretArgs, type PulumiAttachmentSource } from './env-config';
export { nonRootId, digestRef, type NonRootId, type DigestRef, type WritablePath, type ProbeProps, type SecretReference } from '../core';
export { cleanimgPolicies, policyPackArgs, policyName, violationsOfResource, violationMessage, knownCopy, kindOfType, PACK_RULES, POLICY_PACK_NAME, type PackConfig, type PolicyResourceLike } from './policy';
export { SSA_OWNERSHIP_RULE, PATCH_FIELD_MANAGER, PATCH_FORCE } from './ssa-ownership';
export { HardenedNamespace, HARDENED_NAMESPACE_TYPE, type HardenedNamespaceArgs, type NamespaceDeployment, type NamespaceWorkloadEntry, type DeclareDeployments, type PulumiPeerLike, type PulumiEgressAllow } from './hardened-namespace';
export { CustomizedImage, CUSTOMIZED_IMAGE_TYPE, type CustomizedImageArgs, type InlineCustomizeSpec } from './customized-image';
export { CustomizedImageBuild, customizedImageProvider, IMAGE_BUILD_TYPE, IMAGE_ENGINE } from './image-provider';
export { sourceHashOf, diffImage, type ImageBuildInputs, type ImageBuildOutputs, type ImageDiff } from './image-engine';
export { DEFAULT_BASE_REF } from '../customize/base-image';
export { DockerfileImage, DOCKERFILE_IMAGE_TYPE, type DockerfileImageArgs, type DockerfileImageRegistry } from './dockerfile-image';
