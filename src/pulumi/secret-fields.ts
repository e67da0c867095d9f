/**
 * A Pulumi secret may reach a pod only as a mounted Secret file (an EnvConfig `managedSecret`).
 * Given to any other field of a component, its value would be sent to the cluster and stored there
 * in plain text (a Deployment's env, a ConfigMap's data, a label), whatever the state says: the
 * component refuses it, naming the field.
 */
import type { Problem } from '../errors';
import { secretOutputPaths, type InputGuard } from './resolve';

function problemFor(path: string): Problem {
  if (/^(?:init)?[cC]ontainers\[\d+\]\.env\b/.test(path))
    return { code: 'HD018', path, message: 'a Pulumi secret is given as an env value: the Deployment would carry it in plain text', fix: 'put it in an EnvConfig managedSecret and read the mounted file (e.g. an *_FILE variable naming its path)' };
  if (/^data\b/.test(path))
    return { code: 'HD031', path, message: 'a Pulumi secret is given as ConfigMap data: ConfigMaps are stored and shown in plain text', fix: 'move it to managedSecret (a Secret, mounted read-only)' };
  return { code: 'PROP010', path, message: 'a Pulumi secret is given to a field that is sent to the cluster in plain text', fix: 'pass a value that is not secret here; secrets reach pods only through an EnvConfig managedSecret' };
}

/** A guard that refuses secret Outputs anywhere in `input` but under the paths `allowed` accepts. */
export function secretFieldGuard(input: unknown, owner: string, allowed: (path: string) => boolean = () => false): InputGuard {
  return { what: owner, problems: secretOutputPaths(input, allowed).then((paths) => paths.map(problemFor)) };
}
