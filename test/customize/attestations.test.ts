import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CYCLONEDX_PREDICATE_TYPE, SLSA_PROVENANCE_V1, overlayAttestations } from '../../src/customize/attestations';
import { buildOverlay } from '../../src/customize/build';
import { LayoutImageSource } from '../../src/oci/layout';
import { cleanupTmp, makeBaseLayout, specYaml, tmp, write, writeSpec } from './fixtures';

afterAll(cleanupTmp);

describe('overlay attestations (SBOM and provenance)', () => {
  let specPath: string;
  let specDir: string;
  let source: LayoutImageSource;
  let baseDigest: string;
  const conf = 'max_connections = 200\n';

  beforeAll(async () => {
    const root = tmp();
    const base = makeBaseLayout(root);
    baseDigest = base.digest;
    specDir = path.join(root, 'spec');
    write(path.join(specDir, 'config/custom.conf'), conf);
    write(path.join(specDir, 'tools/agent'), 'agent binary\n');
    specPath = writeSpec(specDir, specYaml(`cleanstart/postgresql:15-prod@${base.digest}`, [
      { source: 'config/custom.conf', destination: '/etc/postgresql/custom.conf', mode: '0640' },
      { source: 'tools/agent', destination: '/usr/local/bin/agent', mode: '0755' },
    ]));
    source = await LayoutImageSource.open(base.layout);
  });

  const attest = async (epoch = 0) => {
    const b = await buildOverlay({ specPath, source, sourceDateEpoch: epoch, tag: 'registry.example.com/db:1' });
    try {
      const atts = await overlayAttestations(b, 'registry.example.com/db', b.manifestDigest, '0.1.0', specDir);
      return { digest: b.manifestDigest, atts, statements: atts.map((a) => JSON.parse(a.statement.toString()) as { subject: Array<{ name: string; digest: { sha256: string } }>; predicateType: string; predicate: any }) };
    } finally {
      await b.dispose();
    }
  };

  it('a CycloneDX SBOM: the image, the base as its dependency, each file with its SHA-256, size and mode', async () => {
    const { digest, statements } = await attest();
    const sbom = statements.find((s) => s.predicateType === CYCLONEDX_PREDICATE_TYPE)!;
    expect(sbom.subject).toEqual([{ name: 'registry.example.com/db', digest: { sha256: digest.slice(7) } }]);
    const bom = sbom.predicate;
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', metadata: { timestamp: '1970-01-01T00:00:00.000Z', component: { type: 'container', version: digest } } });
    const file = bom.components.find((c: any) => c.name === '/etc/postgresql/custom.conf');
    expect(file.hashes).toEqual([{ alg: 'SHA-256', content: createHash('sha256').update(conf).digest('hex') }]);
    expect(file.properties).toEqual([{ name: 'cleanimg:mode', value: '0640' }, { name: 'cleanimg:size', value: String(conf.length) }]);
    expect(bom.components.find((c: any) => c.type === 'container')).toMatchObject({ version: baseDigest });
    expect(bom.dependencies.find((d: any) => d.ref === 'image').dependsOn).toContain('base');
  });

  it('a SLSA provenance v1 statement: the spec, the base and every input by digest, the builder', async () => {
    const { statements } = await attest();
    const prov = statements.find((s) => s.predicateType === SLSA_PROVENANCE_V1)!.predicate;
    expect(prov.buildDefinition.buildType).toBe('https://cleanimg.dev/customize/build/v1');
    expect(prov.buildDefinition.externalParameters.spec.base_image).toBe(`cleanstart/postgresql:15-prod@${baseDigest}`);
    expect(prov.buildDefinition.resolvedDependencies).toEqual([
      { uri: `oci://cleanstart/postgresql:15-prod@${baseDigest}`, digest: { sha256: baseDigest.slice(7) } },
      { name: 'config/custom.conf', digest: { sha256: createHash('sha256').update(conf).digest('hex') }, annotations: { destination: '/etc/postgresql/custom.conf' } },
      { name: 'tools/agent', digest: { sha256: createHash('sha256').update('agent binary\n').digest('hex') }, annotations: { destination: '/usr/local/bin/agent' } },
    ]);
    expect(prov.runDetails).toEqual({ builder: { id: 'https://cleanimg.dev/cleanimg-customize@0.1.0' }, metadata: expect.objectContaining({ startedOn: '1970-01-01T00:00:00.000Z' }) });
  });

  it('the same bytes on every rebuild; SOURCE_DATE_EPOCH is the only time in them', async () => {
    const a = await attest();
    const b = await attest();
    expect(b.atts.map((x) => x.statement.toString())).toEqual(a.atts.map((x) => x.statement.toString()));
    const later = await attest(1_700_000_000);
    expect(later.statements[0]!.predicate.metadata.timestamp).toBe('2023-11-14T22:13:20.000Z');
  });
});
