import { expect } from 'vitest';
import { CleanimgError, type Problem } from '../../src/errors';

/** Awaits `p`, which must reject with a CleanimgError, and returns that error for further checks. */
export async function failure(p: Promise<unknown>): Promise<CleanimgError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return e as CleanimgError;
  }
  throw new Error('expected a CleanimgError');
}

/** Awaits `p`, which must reject with a CleanimgError, and returns its problems. */
export async function failureProblems(p: Promise<unknown>): Promise<Problem[]> {
  return [...(await failure(p)).problems];
}

/** Awaits `p`, which must reject with a CleanimgError, and returns its first problem's code. */
export async function failureCode(p: Promise<unknown>): Promise<string> {
  return (await failure(p)).problems[0]!.code;
}

/** Calls `fn`, which must throw a CleanimgError, and returns that error for further checks. */
export function thrown(fn: () => unknown): CleanimgError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return e as CleanimgError;
  }
  throw new Error('expected a CleanimgError');
}
