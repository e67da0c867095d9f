export * from './props';
export * from './ids';
export * from './image-ref';
export * from './quantity';
export { hardenedDeployment, serviceFor, DEFAULT_RESOURCES, DEFAULT_TMP_SIZE, type HardenedDeploymentResult } from './deployment';
export { envConfig, contentHash, type EnvConfigProps, type EnvConfigResult, type SecretReference } from './env-config';
export { hardenedNamespace, dangerousGrants, policyNameFor, DEFAULT_POD_SECURITY_VERSION, NAMESPACE_NAME_LABEL, type HardenedNamespaceProps, type HardenedNamespaceResult, type NamespaceWorkload, type NetworkPeer, type NetworkPort, type EgressAllow, type RoleGrant, type WorkloadLike } from './namespace';
