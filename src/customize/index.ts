/** cleanimg-customize: the spec format, input checks, and `buildOverlay` (spec -> image). */
export * from './spec';
export * from './inputs';
export * from './build';
