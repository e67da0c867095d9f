/**
 * `build --push` asks the registry for the tag while the spec and inputs are checked (the round trips
 * overlap start-up). A problem found meanwhile is still reported at once: the process does not wait
 * for a registry that does not answer, and nothing is sent.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, tmp, write } from '../customize/fixtures';

const CLI = path.resolve(__dirname, '../../lib/cli/bin.js');
let silent: Server;
let host: string;
const sockets: Socket[] = [];
let bytesReceived = 0;

beforeAll(async () => {
  // Accepts connections, reads what comes, never answers.
  silent = createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => (bytesReceived += d.length));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  cleanupTmp();
});

describe('build --push: the early tag HEAD', () => {
  it('an invalid spec is reported at once (exit 2) although the registry never answers', () => {
    const dir = tmp();
    const spec = write(path.join(dir, 'spec.yaml'), 'base_image: not-pinned\narch: amd64\ncopy_files: []\n');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'build', '--spec', spec, '--tag', `${host}/x/y:1`, '--push', '--json', '--no-cache', '--timeout', '30'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(JSON.parse(r.stdout).ok).toBe(false);
    // Whatever reached the silent registry, it was no upload: at most the probe's requests.
    expect(bytesReceived).toBeLessThan(4096);
  });
});
