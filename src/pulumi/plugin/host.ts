/**
 * Entry of the plugin package (`pulumi-plugin/index.js` calls `serve`): starts the provider's gRPC
 * server for the engine, which passes its address as the first argument.
 */
import { join } from 'node:path';
import { main } from '@pulumi/pulumi/provider';
import { VERSION } from '../../version';
import { CleanimgProvider } from './provider';

/** Serves the components; `pluginDir` holds `schema.json`. */
export function serve(pluginDir: string, args: readonly string[] = process.argv.slice(2)): Promise<void> {
  return main(new CleanimgProvider(VERSION, join(pluginDir, 'schema.json')), [...args]);
}
