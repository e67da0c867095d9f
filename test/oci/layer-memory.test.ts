import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupTmp, tmp } from '../customize/fixtures';

afterAll(cleanupTmp);

const repoRoot = path.resolve(__dirname, '../..');

describe('buildLayer memory', () => {
  // Not a timing claim: a check that file contents are streamed. A 384 MiB file held in memory would
  // push the child's peak RSS well past 400 MiB; streamed, it stays near Node's own baseline.
  // (Measured here for a 2 GiB sparse file: peak RSS 127 MiB.)
  it('streams a large file: peak RSS stays far below the file size', () => {
    const dir = tmp();
    const big = path.join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 384 << 20);
    const script = path.join(dir, 'rss.ts');
    writeFileSync(
      script,
      `import { buildLayer } from ${JSON.stringify(path.join(repoRoot, 'src/oci/layer.ts'))};
buildLayer([{ path: '/data/big.bin', kind: 'file', source: ${JSON.stringify(big)}, mode: 0o644, uid: 0, gid: 0 }], { tmpDir: ${JSON.stringify(dir)} })
  .then((l) => console.log(JSON.stringify({ rss: process.resourceUsage().maxRSS * 1024, u: l.uncompressedSize })));
`,
    );
    const out = JSON.parse(execFileSync('nice', [process.execPath, '--import', 'tsx', script], { cwd: repoRoot, encoding: 'utf8' }).trim());
    expect(out.u).toBeGreaterThan(384 << 20);
    expect(out.rss).toBeLessThan(200 << 20);
  }, 120_000);
});
