export * from './filesystem';
export * from './shells';
