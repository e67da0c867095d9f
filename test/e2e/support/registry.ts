// A real OCI registry on 127.0.0.1 for the e2e tier: Debian's docker-registry
// (distribution 2.8) or the distribution v3 registry built by provision.sh. Plain HTTP,
// no auth, storage in a temp dir; stopped by PID.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitFor, type Server } from './process';
import { freePort, tool } from './tools';

export type RegistryImpl = 'docker-registry' | 'distribution-registry';

export interface Registry {
  /** host:port, e.g. 127.0.0.1:40123 */
  host: string;
  dir: string;
  process: Server;
  stop(): Promise<void>;
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startRegistry(impl: RegistryImpl = 'docker-registry'): Promise<Registry> {
  const bin = tool(impl);
  const dir = mkdtempSync(join(tmpdir(), `cleanimg-e2e-${impl}-`));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: error}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
      `http: {addr: "${host}"}`,
      '',
    ].join('\n'),
  );
  const proc = startServer(impl, bin, ['serve', join(dir, 'config.yml')], join(dir, 'registry.log'), {
    ...process.env,
    // distribution v3 reports to its own tracing by default; keep it quiet and offline.
    OTEL_TRACES_EXPORTER: 'none',
  });
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(proc, '/v2/', async () => (await get(`http://${host}/v2/`)) === 200, 20_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host, dir, process: proc, stop };
}
