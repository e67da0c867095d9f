export { HardenedDeployment, type HardenedDeploymentProps, type ExposeOptions } from './hardened-deployment';
export { EnvConfig, type EnvConfigProps } from './env-config';
export { HardenedApp, enforceHardening, runApp, violationsIn, type HardenedAppProps } from './guard';
export { HardeningValidation, type HardeningValidationProperties } from './validation-plugin';
export { nonRootId, type NonRootId, type DigestRef, type ImageLike, type WritablePath, type ProbeProps, type SecretReference } from '../core';
export { DockerfileImage, type DockerfileImageProps } from '../dockerfile/construct';
export { HardenedNamespace, type HardenedNamespaceProps, type PeerLike, type WorkloadOptions } from './hardened-namespace';
export { CustomizedImage, DEFAULT_BASE_REF, type CustomizedImageProps, type InlineCustomizeSpec } from './customized-image';
