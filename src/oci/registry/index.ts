export { RegistryClient, type RegistryClientOptions, type PushBlobOptions, type PushBlobResult, type StreamingUpload } from './client';
export { RegistryImageSource } from './source';
export { Transport, parseRetryAfter, type TransportOptions } from './transport';
export { Authenticator, parseChallenge, repoScope, type Challenge } from './auth';
export { resolveCredentials, runCredentialHelper, readDockerConfig, dockerConfigPath, dockerServerKey, type Credentials, type CredentialOptions } from './credentials';
export { statusError, networkError, parseErrorBody, LOGIN_FIX, loginFix, type RegistryErrorEntry } from './errors';
