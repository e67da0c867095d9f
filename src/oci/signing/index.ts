export * from './keys';
export * from './cosign';
export * from './verify';
export * from './bundle';
