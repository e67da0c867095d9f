/**
 * Bundles the CLI into one file, lib/cli/bundle.js, which lib/cli/bin.js (the `cleanimg-customize`
 * command) runs with V8's code cache. Part of `npm run build`, after tsc.
 *
 *   node scripts/bundle-cli.mjs           # write lib/cli/bundle.js
 *   node scripts/bundle-cli.mjs --check   # exit 1 when lib/cli/bundle.js is not what src/ gives now
 *
 * Why: a cold build loaded 220 modules through Node's module loader (each resolved, read, wrapped and
 * compiled, `import()` through the ESM loader): about 0.1 s of a short run's CPU. One file, compiled
 * from the code cache, costs a few milliseconds (BENCHMARKS.md).
 *
 * Left outside the bundle, loaded from node_modules when used:
 * - @cyclonedx/cyclonedx-library (only `build --attest`): it requires optional plugins by name
 *   (xmlbuilder2, ajv-formats, libxmljs2) that are not installed.
 * - @hazae41/foras (the overlay's compressor, src/oci/deflate-segment.ts): its WebAssembly is a module
 *   its package does not export, which we load by path from beside its entry point; the compression
 *   workers load the same files.
 * fflate is in the bundle and is also loaded from node_modules by the compression workers
 * (src/oci/segment-pool.ts, require.resolve): package.json pins one version, so both are the same code.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'lib', 'cli', 'bundle.js');
const require = createRequire(import.meta.url);

/**
 * What src/build-info.ts reads in the bundle: the bundled libraries' versions (cache keys) and the
 * spec validator's identity (spec-cache.ts). Taken from the compiled separate modules (tsc runs
 * first), so the bundle and `node lib/cli/main.js` name the same code the same way.
 */
function bundleFacts() {
  const { dependencyVersion } = require('../lib/build-info.js');
  const { specValidatorTag } = require('../lib/customize/spec-cache.js');
  const dependencies = Object.fromEntries(['@hazae41/foras', 'fflate', 'tar-stream', 'yaml', 'zod'].map((n) => [n, dependencyVersion(n)]));
  const specValidator = specValidatorTag();
  if (Object.values(dependencies).includes('unknown') || !specValidator) throw new Error(`cannot read the bundle's facts (${JSON.stringify({ dependencies, specValidator })}): run tsc first`);
  return { dependencies, specValidator };
}

export function bundleCli() {
  const result = buildSync({
    entryPoints: [join(root, 'src', 'cli', 'bundle-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@cyclonedx/cyclonedx-library', '@hazae41/foras'],
    // Comments and indentation out (a smaller file to read and hash); names kept for readable stacks.
    minifyWhitespace: true,
    legalComments: 'none',
    charset: 'ascii',
    logOverride: { 'require-resolve-not-external': 'silent' },
    define: { __CLEANIMG_BUNDLE__: JSON.stringify(bundleFacts()) },
    write: false,
    outfile,
    logLevel: 'error',
  });
  const text = result.outputFiles[0].text;
  // On Node 20 the code cache compiles the bundle as a vm.Script, which cannot carry the callback a
  // dynamic import needs: every import() must have become a require.
  if (text.includes('import(')) throw new Error('the CLI bundle contains import(): mark that module external or load it with require');
  // compile-cache.ts reads the bundle as latin1, which is exact for ASCII only.
  if (/[^\x00-\x7f]/.test(text)) throw new Error('the CLI bundle is not ASCII: keep esbuild\'s charset at ascii');
  return text;
}

const text = bundleCli();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outfile, 'utf8');
  } catch {
    /* missing */
  }
  if (current !== text) {
    console.error(`${outfile} is stale: run npm run build`);
    process.exit(1);
  }
} else {
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, text);
}
