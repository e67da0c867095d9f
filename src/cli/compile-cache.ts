/**
 * V8's code cache for the CLI's bundle (lib/cli/bundle.js, one file: scripts/bundle-cli.mjs): parsing
 * and compiling JavaScript is a large part of a short run's start-up. With the cache, V8 deserializes the
 * compiled code of an earlier run instead of compiling the source again, including the functions that
 * run compiled lazily.
 *
 * - Node >= 22.1: `module.enableCompileCache(dir)`, Node's own cache (it checks the sources itself),
 *   then the bundle is required as usual.
 * - Node 20 (no such API): the bundle is compiled here as a `vm.Script` of Node's own module wrapper,
 *   with the data of an earlier run when that data was made from exactly these bytes. The data lives in
 *   one file per bundle, named after the SHA-256 of the bundle's source, the V8 version and the CPU
 *   architecture (V8 itself checks only the source's length, and rejects data from another V8 or other
 *   flags; the script then compiles as usual). New data is written when a run that found none exits
 *   with status 0 (temp name, then rename), and the data of other bundles (earlier versions) is removed
 *   then, so a folder holds one file per installed version at most. The bundle has no `import()` (the
 *   bundle script checks): a `vm.Script` cannot carry Node's dynamic-import callback on Node 20.
 *
 * One cache per command (`build`, `verify`, `--version`...: a subfolder named after the first
 * argument). V8's data holds the functions compiled by the run that wrote it, and functions compiled
 * lazily later are compiled again by every run. With one cache for all commands, a first `--version`
 * would have left data without any of build's functions: build --push then took 0.05 s longer on
 * every run (0.225 against 0.17-0.19 s above `node -e 0`, measured). A run that fails writes nothing,
 * for the same reason: it stopped before most of its command's code ran. A successful run also removes
 * the folders Node's own cache made in the top folder before the split (Node 22, ~1 MB each).
 *
 * The cache holds compiled code that this process will run, so it lives only in a folder of the user's
 * own (`$CLEANIMG_CACHE_DIR/compile`, else `$XDG_CACHE_HOME/cleanimg/compile`, else
 * `~/.cache/cleanimg/compile`), created 0700; a folder owned by another user, or writable by group or
 * others, is not used. `CLEANIMG_NO_COMPILE_CACHE=1` (or Node's `NODE_DISABLE_COMPILE_CACHE=1`) turns
 * it off. It never changes what a command does or outputs, only how fast its code loads.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { cleanimgCacheDir } from '../cache-dir';

/** The folder of the compile cache (see the module comment). */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return cleanimgCacheDir('compile', env);
}

/** Creates the folder (0700) and checks it is the user's own and not writable by others. */
function ownFolder(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** How the bundle was loaded: Node's own cache, this module's (Node 20), or without a cache. */
export type CompileCacheState = 'native' | 'script' | 'off';

/** The cache folder to use, or undefined when the cache is off or the folder is not safe. */
function usableDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env['CLEANIMG_NO_COMPILE_CACHE'] === '1' || env['NODE_DISABLE_COMPILE_CACHE'] === '1') return undefined;
  const dir = compileCacheDir(env);
  return ownFolder(dir) ? dir : undefined;
}

const nativeCache = (Module as unknown as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;

/**
 * The cache's name for a command line: its first argument when that looks like a command or an
 * option, without the dashes (`build`, `version` for `--version`), else `other`.
 */
export function commandCacheName(args: readonly string[]): string {
  const first = args[0] ?? '';
  return /^(--?)?[a-z][a-z0-9-]{0,31}$/.test(first) ? first.replace(/^-+/, '') : 'other';
}

/**
 * Runs the CommonJS file `file` (the CLI bundle) with the code cache when it can be used, and returns
 * how it was loaded; `command` (commandCacheName) picks the cache. A cache that cannot be used (turned
 * off, an unsafe folder, data V8 rejects) only means the file is compiled as usual; errors of the file
 * itself surface as they would from require.
 */
export function requireWithCodeCache(file: string, env: NodeJS.ProcessEnv = process.env, command = 'other'): CompileCacheState {
  let dir: string | undefined;
  try {
    const root = usableDir(env);
    dir = root && ownFolder(path.join(root, command)) ? path.join(root, command) : undefined;
  } catch {
    dir = undefined;
  }
  if (dir && typeof nativeCache === 'function') {
    try {
      nativeCache(dir);
      const root = path.dirname(dir);
      process.once('exit', (code) => code === 0 && removeOldNativeCaches(root));
    } catch {
      dir = undefined;
    }
    require(file);
    return dir ? 'native' : 'off';
  }
  if (!dir) {
    require(file);
    return 'off';
  }
  runScript(file, dir);
  return 'script';
}

const PREFIX = 'cli-';

/** How Node's own cache names its folder: `v<node version>-<arch>-<flags hash>-<uid>`. No command name has a dot. */
const NATIVE_FOLDER = /^v\d+\.\d+\.\d+-/;

/**
 * Removes the folders Node's own cache made in the cache's top folder, where it lived before there
 * was one cache per command. Only names of Node's pattern, in the top folder: a command's folder is
 * never one of them. Errors are ignored: the cache is an optimisation.
 */
export function removeOldNativeCaches(root: string): void {
  try {
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory() && NATIVE_FOLDER.test(entry.name)) rmSync(path.join(root, entry.name), { recursive: true, force: true });
    }
  } catch {
    /* nothing to clean, or not ours to clean */
  }
}

/** Node 20: compile `file` with the cached data for its bytes, run it as a module, and save new data at exit. */
function runScript(file: string, dir: string): void {
  // The bundle is ASCII (esbuild escapes the rest; the bundle script checks): latin1 reads it without UTF-8 decoding.
  const source = readFileSync(file, 'latin1');
  const key = createHash('sha256').update(source).digest('hex').slice(0, 32);
  const dataFile = path.join(dir, `${PREFIX}${key}-v8-${process.versions.v8}-${process.arch}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(dataFile);
  } catch {
    cachedData = undefined;
  }
  // A hashbang is legal only on the first line of a script; inside the wrapper it becomes a comment.
  const body = source.startsWith('#!') ? `//${source}` : source;
  const script = new vm.Script((Module as unknown as { wrap(s: string): string }).wrap(body), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (!cachedData || script.cachedDataRejected) process.once('exit', (code) => code === 0 && saveData(dir, dataFile, script));
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  fn.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
}

/**
 * Writes the script's data (temp name, then rename) and removes the data of other bundles, and the
 * files that earlier versions kept in the cache's top folder (one for all commands, and the
 * module-loader hook's v8-*.bin before that).
 */
function saveData(dir: string, dataFile: string, script: vm.Script): void {
  try {
    const tmp = `${dataFile}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    try {
      renameSync(tmp, dataFile);
    } catch {
      unlinkSync(tmp);
    }
    for (const folder of [dir, path.dirname(dir)]) {
      for (const name of readdirSync(folder)) {
        const stale = (name.startsWith(PREFIX) || name.startsWith('v8-')) && name.endsWith('.bin');
        if (stale && path.join(folder, name) !== dataFile) unlinkSync(path.join(folder, name));
      }
    }
    removeOldNativeCaches(path.dirname(dir));
  } catch {
    /* the cache is an optimisation: a failed write changes nothing */
  }
}
