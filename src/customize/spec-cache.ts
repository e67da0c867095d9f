/**
 * A cache of validated specs, so that a repeat build does not load the YAML parser and the schema
 * library (together 60-150 ms of start-up here, more than the rest of a repeat push).
 *
 * Validation is a pure function of the spec file's bytes and of the code that validates it, so the
 * key is sha256 over: a format tag, the sha256 of the compiled spec and spec-core modules (their own
 * files, read at run time: any change to the rules, e.g. a new field, is a new key), the yaml and zod
 * versions, and the file's bytes. The value is the validated spec and its specDigest. Only successes
 * are cached: an invalid spec is parsed every time, so its errors are always current. Sources are not
 * part of it: inputs are checked on every build (inputs.ts). Files are written to a temp name and
 * renamed; an unreadable or malformed entry is a miss.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { BUNDLE, dependencyVersion } from '../build-info';
import type { CustomizeSpec, LoadedSpec } from './spec';

let validatorTag: string | null | undefined;

/** This folder's compiled (or, under a TypeScript runner, source) file of a module. */
function ownFile(name: string): string | undefined {
  for (const ext of ['.js', '.ts']) {
    const f = path.join(__dirname, name + ext);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/**
 * What validation depends on besides the bytes: the validating code and its libraries. Null when the
 * code cannot be read (then nothing is cached).
 */
export function specValidatorTag(): string | null {
  if (validatorTag === undefined && BUNDLE) validatorTag = BUNDLE.specValidator;
  if (validatorTag === undefined) {
    const files = ['spec', 'spec-core'].map(ownFile);
    if (files.some((f) => f === undefined)) validatorTag = null;
    else {
      const h = createHash('sha256').update('cleanimg-spec-cache/1\n');
      for (const f of files) h.update(readFileSync(f!));
      h.update(`yaml=${dependencyVersion('yaml')} zod=${dependencyVersion('zod')}`);
      validatorTag = h.digest('hex');
    }
  }
  return validatorTag;
}

interface Entry {
  spec: CustomizeSpec;
  specDigest: string;
}

/**
 * loadSpec with a cache folder: the same result (or the same error) as spec.ts's loadSpec. Without
 * `dir`, it is loadSpec.
 */
export async function loadSpecCached(specPath: string, dir: string | undefined): Promise<LoadedSpec & { fromCache: boolean }> {
  const abs = path.resolve(specPath);
  let bytes: Buffer | undefined;
  const tag = dir !== undefined ? specValidatorTag() : null;
  if (dir !== undefined && tag !== null) bytes = await readFile(abs).catch(() => undefined);
  if (dir === undefined || tag === null || bytes === undefined) {
    // No cache, or the file cannot be read: loadSpec reports it with its own error.
    return { ...(await (await import('./spec.js')).loadSpec(specPath)), fromCache: false };
  }
  const key = createHash('sha256').update(tag).update('\n').update(bytes).digest('hex');
  const file = path.join(dir, `${key}.json`);
  try {
    const e = JSON.parse(await readFile(file, 'utf8')) as Entry;
    if (e && typeof e.specDigest === 'string' && e.spec && typeof e.spec === 'object' && Array.isArray(e.spec.copy_files)) {
      return { spec: e.spec, specPath: abs, specDir: path.dirname(abs), specDigest: e.specDigest, fromCache: true };
    }
  } catch {
    /* a miss */
  }
  const { parseSpec } = await import('./spec.js');
  const { specDigest } = await import('./spec-core.js');
  // Parse the bytes read above (the same text loadSpec would read), so the entry matches its key.
  const spec = parseSpec(bytes.toString('utf8'), path.basename(abs));
  const entry: Entry = { spec, specDigest: specDigest(spec) };
  try {
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o644 });
    await rename(tmp, file).catch(async (e: unknown) => {
      await unlink(tmp).catch(() => undefined);
      throw e;
    });
  } catch {
    /* the cache is an optimisation: a write failure changes nothing */
  }
  return { spec, specPath: abs, specDir: path.dirname(abs), specDigest: entry.specDigest, fromCache: false };
}
