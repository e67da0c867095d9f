import type { Construct } from 'constructs';

/** A DNS label from construct ids (chart included, app excluded), at most `max` characters. */
function nameFromIds(ids: readonly string[], max: number): string {
  const name = ids.filter(Boolean).join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return (name || 'app').slice(0, max).replace(/-+$/, '');
}

/** The default Kubernetes name of construct `c`, from its path. */
export function defaultName(c: Construct, max = 63): string {
  return nameFromIds(c.node.scopes.slice(1).map((s) => s.node.id), max);
}

/** The default name of a construct about to be made as `id` under `scope` (for use before `super`). */
export function defaultNameUnder(scope: Construct, id: string, max = 63): string {
  return nameFromIds([...scope.node.scopes.slice(1).map((s) => s.node.id), id], max);
}
