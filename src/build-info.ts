/**
 * Facts about the code that runs, for cache keys: a dependency's version, and the identity of the spec
 * validator. In the CLI bundle (scripts/bundle-cli.mjs) they are fixed when the bundle is made, since
 * the bundle holds those libraries' code; running the separate modules, they are read from the files
 * (`node_modules/<name>/package.json`, this package's compiled spec modules).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

interface BundleFacts {
  /** Versions of the libraries whose code the caches depend on (foras, fflate, tar-stream, yaml, zod). */
  readonly dependencies: Readonly<Record<string, string>>;
  /** sha256 of the spec validator's sources and libraries (spec-cache.ts). */
  readonly specValidator: string;
}

// Replaced by the bundle script (esbuild `define`); undeclared when the modules run as compiled.
declare const __CLEANIMG_BUNDLE__: BundleFacts | undefined;

/** The facts fixed in the CLI bundle, or undefined outside it. */
export const BUNDLE: BundleFacts | undefined = typeof __CLEANIMG_BUNDLE__ === 'undefined' ? undefined : __CLEANIMG_BUNDLE__;

/** A dependency's version: the bundled one, else from the package.json next to its entry point (some packages do not export it). */
export function dependencyVersion(name: string): string {
  const bundled = BUNDLE?.dependencies[name];
  if (bundled) return bundled;
  try {
    let d = path.dirname(require.resolve(name));
    for (let i = 0; i < 6; i++) {
      const f = path.join(d, 'package.json');
      if (existsSync(f)) {
        const pkg = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      }
      d = path.dirname(d);
    }
  } catch {
    /* fall through */
  }
  return 'unknown';
}
