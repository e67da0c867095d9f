import * as pulumi from '@pulumi/pulumi';
import { CleanimgError } from '../errors';
import { parseReference, refName } from '../oci/reference';

/**
 * A component's `repository` arg: a valid reference with no tag or digest (the build decides the
 * digest). Returns the normalized name; refuses with `code` at `<where>/repository`, and `tagFix`
 * saying where a tag goes instead.
 */
export function checkRepository(repository: string, where: string, code: string, pushed: string, tagFix: string): string {
  let repo;
  try {
    repo = parseReference(repository);
  } catch (e) {
    throw new CleanimgError(`${where}: invalid repository`, [
      { code, path: `${where}/repository`, message: e instanceof Error ? e.message.split('\n')[0]! : String(e), fix: 'pass a repository such as registry.example.com/team/app' },
    ]);
  }
  if (repo.tag !== undefined || repo.digest !== undefined) {
    throw new CleanimgError(`${where}: repository names a tag or digest`, [
      { code, path: `${where}/repository`, message: `"${repository}" has a tag or digest; the digest is what the build ${pushed}`, fix: `pass ${refName(repo)} and ${tagFix}` },
    ]);
  }
  return refName(repo);
}

/**
 * checkRepository for an Input: a plain string is checked now (a bad one throws at construction and
 * nothing is registered); an Output (e.g. a registry repository created in the same stack) is checked
 * once it is known, and a bad value then fails the resource that uses it, with the same code and fix.
 */
export function checkRepositoryInput(repository: pulumi.Input<string>, where: string, code: string, pushed: string, tagFix: string): pulumi.Output<string> {
  if (typeof repository === 'string') return pulumi.output(checkRepository(repository, where, code, pushed, tagFix));
  return pulumi.output(repository).apply((r) => checkRepository(r, where, code, pushed, tagFix));
}
