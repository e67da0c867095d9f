/**
 * cleanimg's cache folders: `$CLEANIMG_CACHE_DIR/<sub>`, else `$XDG_CACHE_HOME/cleanimg/<sub>`, else
 * `~/.cache/cleanimg/<sub>`. Kept free of other imports: the CLI's compile cache reads it first thing.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export function cleanimgCacheDir(sub: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env['CLEANIMG_CACHE_DIR']) return path.join(path.resolve(env['CLEANIMG_CACHE_DIR']), sub);
  const xdg = env['XDG_CACHE_HOME'];
  const root = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(root, 'cleanimg', sub);
}
