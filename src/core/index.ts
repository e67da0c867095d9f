export * from './props';
export * from './ids';
export * from './image-ref';
export * from './quantity';
export { hardenedDeployment, serviceFor, DEFAULT_RESOURCES, DEFAULT_TMP_SIZE, type HardenedDeploymentResult } from './deployment';
export { envConfig, contentHash, type EnvConfigProps, type EnvConfigResult, type SecretReference } from './env-config';
