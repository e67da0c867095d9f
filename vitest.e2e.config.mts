// The end-to-end tier: real kube-apiserver, etcd, registries, cosign and scanners.
// Run `test/e2e/provision.sh` first; then `npm run test:e2e`. With CI=true a missing
// tool fails the run; locally a skipped suite fails it too (loudly, with what is missing)
// unless CLEANIMG_E2E_ALLOW_SKIP=1.
import { defineConfig } from 'vitest/config';
import unit from './vitest.config.mts';

export default defineConfig({
  resolve: unit.resolve,
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    exclude: ['node_modules/**', 'lib/**', 'dist/**'],
    globalSetup: ['test/e2e/support/global-setup.ts'],
    // Two shared cores: one file at a time, one API server for the whole run.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
});
