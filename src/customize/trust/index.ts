export * from './layouts';
export * from './x509';
export { findBundle, type BundleSearch, type FoundBundle } from './find-bundle';
export { scanLayer, type OpenLayerStream, type ScannedEntry, type ScannedLayer } from './layer-scan';
export { describeTrust, prepareTrust, readTrustCas, type TrustCaAdded, type TrustCaFile, type TrustReport, type TrustStep, type TrustStepOptions } from './prepare';
export { buildChain, describeTrustVerify, parseCertificateFile, verifyTrust, type StoreCheck, type TrustVerifyResult } from './verify';
