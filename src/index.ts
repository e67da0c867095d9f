export * from './errors';
export * from './core';
export * from './rules';
