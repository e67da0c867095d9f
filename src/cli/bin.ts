#!/usr/bin/env node
/**
 * The `cleanimg-customize` command: runs the CLI's bundle (lib/cli/bundle.js, made by
 * scripts/bundle-cli.mjs from src/cli/bundle-entry.ts) with V8's code cache (compile-cache.ts). One
 * file instead of the 220 modules a cold build loaded, compiled once per machine and command: start-up
 * counts in every build and re-push. `node lib/cli/main.js` runs the same program from the separate
 * modules, without the cache.
 */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { commandCacheName, requireWithCodeCache } from './compile-cache';

const bundle = path.join(__dirname, 'bundle.js');
if (!existsSync(bundle)) {
  process.stderr.write(`error: ${bundle} is missing: run \`npm run build\` (it compiles and bundles the CLI)\n`);
  process.exitCode = 2;
} else {
  requireWithCodeCache(bundle, process.env, commandCacheName(process.argv.slice(2)));
}
