/**
 * V8's code cache for the CLI's modules: parsing and compiling JavaScript is a large part of a short
 * run's start-up (commander, yaml, zod, tar-stream, fflate and our own modules, ~0.1 s of CPU here).
 * With the cache, V8 deserializes the compiled code instead of compiling the sources again.
 *
 * - Node >= 22.1: `module.enableCompileCache(dir)`, Node's own cache (it checks the sources itself).
 * - Node 20 (no such API): the CommonJS loader's compile step is wrapped for the files it can serve:
 *   each module is compiled as a `vm.Script` of Node's own wrapper with the cached data of an earlier
 *   run, when that data was made from exactly these bytes (a SHA-1 of the source is the key: V8 itself
 *   checks only the length); V8 rejects data from another V8 version or other flags, and the module is
 *   then compiled as usual. Files containing `import(` are left to Node (a `vm.Script` cannot carry
 *   Node's dynamic-import callback on Node 20), as is anything when the cache cannot be read. The new
 *   data is written once, when the process exits, to one file (temp name, then rename).
 *
 * The cache holds compiled code that this process will run, so it lives only in a folder of the user's
 * own (`$CLEANIMG_CACHE_DIR/compile`, else `$XDG_CACHE_HOME/cleanimg/compile`, else
 * `~/.cache/cleanimg/compile`), created 0700; a folder owned by another user, or writable by group or
 * others, is not used. `CLEANIMG_NO_COMPILE_CACHE=1` (or Node's `NODE_DISABLE_COMPILE_CACHE=1`)
 * turns it off. It never changes what a command does or outputs, only how fast its code loads.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
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

export type CompileCacheState = 'native' | 'hook' | 'off';

interface Entry {
  /** Offset and length of the cached data in the blob, and the SHA-1 (base64) of the source it was made from. */
  readonly at: number;
  readonly length: number;
  readonly source: string;
}

interface ModuleInternals {
  _compile(content: string, filename: string): unknown;
  exports: unknown;
  require(id: string): unknown;
}
interface ModuleStatics {
  prototype: ModuleInternals;
  wrap(script: string): string;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: unknown): string[] | null;
  _extensions: unknown;
  _cache: unknown;
}

let state: CompileCacheState | undefined;

/**
 * Turns the compile cache on for this process (once; later calls return the first answer). Call it
 * first thing in the CLI's entry point; never throws.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheState {
  if (state !== undefined) return state;
  state = 'off';
  try {
    if (env['CLEANIMG_NO_COMPILE_CACHE'] === '1' || env['NODE_DISABLE_COMPILE_CACHE'] === '1') return state;
    const dir = compileCacheDir(env);
    const native = (Module as unknown as { enableCompileCache?: (dir?: string) => { status: number } }).enableCompileCache;
    if (typeof native === 'function') {
      if (!ownFolder(dir)) return state;
      native(dir);
      return (state = 'native');
    }
    if (!ownFolder(dir)) return state;
    installHook(path.join(dir, `v8-${process.versions.v8}-${process.arch}.bin`));
    return (state = 'hook');
  } catch {
    return state;
  }
}

const sha1 = (text: string): string => createHash('sha1').update(text).digest('base64');

/** Reads the cache file: a 4-byte length, a JSON index, then the cached data. */
function readCache(file: string): { index: Record<string, Entry>; blob: Buffer } {
  try {
    const b = readFileSync(file);
    const n = b.readUInt32LE(0);
    const index = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as Record<string, Entry>;
    if (index && typeof index === 'object') return { index, blob: b.subarray(4 + n) };
  } catch {
    /* no cache yet, or unreadable: compile as usual */
  }
  return { index: {}, blob: Buffer.alloc(0) };
}

function installHook(file: string): void {
  const M = Module as unknown as ModuleStatics;
  const original = M.prototype._compile;
  const { index, blob } = readCache(file);
  /** Scripts compiled without usable data: their data is made at exit. */
  const fresh = new Map<string, { script: vm.Script; source: string }>();

  M.prototype._compile = function compileWithCache(this: ModuleInternals, content: string, filename: string): unknown {
    if (content.includes('import(')) return original.call(this, content, filename);
    const source = sha1(content);
    const e = index[filename];
    const cachedData = e && e.source === source && e.at >= 0 && e.at + e.length <= blob.length ? blob.subarray(e.at, e.at + e.length) : undefined;
    // A hashbang is legal only on the first line of a script; inside the wrapper it becomes a comment.
    const body = content.startsWith('#!') ? `//${content}` : content;
    let script: vm.Script;
    try {
      script = new vm.Script(M.wrap(body), { filename, ...(cachedData ? { cachedData } : {}) });
    } catch {
      return original.call(this, content, filename); // let Node report the syntax error its own way
    }
    if (!cachedData || script.cachedDataRejected) fresh.set(filename, { script, source });
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const mod = this;
    const require = Object.assign((id: string) => mod.require(id), {
      resolve: Object.assign((request: string, options?: unknown) => M._resolveFilename(request, mod, false, options), {
        paths: (request: string) => M._resolveLookupPaths(request, mod),
      }),
      main: require_main(),
      extensions: M._extensions,
      cache: M._cache,
    });
    return fn.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
  };

  process.once('exit', () => {
    if (fresh.size === 0) return;
    try {
      const parts: Buffer[] = [];
      const next: Record<string, Entry> = {};
      let at = 0;
      const add = (name: string, data: Buffer, source: string) => {
        next[name] = { at, length: data.length, source };
        parts.push(data);
        at += data.length;
      };
      for (const [name, e] of Object.entries(index)) {
        if (!fresh.has(name) && e.at >= 0 && e.at + e.length <= blob.length) add(name, blob.subarray(e.at, e.at + e.length), e.source);
      }
      for (const [name, { script, source }] of fresh) add(name, script.createCachedData(), source);
      const head = Buffer.from(JSON.stringify(next), 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(head.length, 0);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.concat([len, head, ...parts]), { mode: 0o600 });
      try {
        renameSync(tmp, file);
      } catch {
        unlinkSync(tmp);
      }
    } catch {
      /* the cache is an optimisation: a failed write changes nothing */
    }
  });
}

function require_main(): unknown {
  return require.main;
}
