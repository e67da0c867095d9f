/**
 * `cleanimg-customize build --spec FILE --tag REF [--push] [--output-layout DIR] [--sign-key KEY] [--json]`
 */
import * as path from 'node:path';
import { CleanimgError } from '../../errors';
import { buildOverlay, type BuildOverlayResult } from '../../customize/build';
import { defaultCacheDir, LayerCache } from '../../customize/cache';
import { LayerStreamer, pushOverlay, type PushOverlayResult } from '../../customize/push';
import { loadSpecCached } from '../../customize/spec-cache';
import { LayoutImageSource } from '../../oci/layout';
import { parseReference, refName, type Reference } from '../../oci/reference';
import { RegistryClient, RegistryImageSource } from '../../oci/registry';
import type { SigningKey } from '../../oci/signing';
import { parseSignatureFormat } from '../../oci/signing/format';
import { VERSION } from '../../version';
import type { ImageSource } from '../../oci/types';
import { EXIT, type Io } from '../output';
import { registryOptions, type RegistryFlags } from './registry-options';

export interface BuildFlags extends RegistryFlags {
  spec: string;
  tag: string;
  push?: boolean;
  outputLayout?: string;
  signKey?: string;
  signatureFormat?: string;
  attest?: boolean;
  json?: boolean;
  allowPrivateKeys?: boolean;
  format?: 'base' | 'oci';
  baseLayout?: string;
  sourceDateEpoch?: string;
  /** false with --no-cache. */
  cache?: boolean;
  cacheDir?: string;
}

function targetReference(tag: string): Reference {
  const ref = parseReference(tag);
  if (ref.digest) {
    throw new CleanimgError('--tag names a digest', [{ code: 'CLI020', path: '--tag', message: `${tag} contains a digest; the digest is what the build computes`, fix: 'pass registry/repository:tag' }]);
  }
  return ref;
}

/** Progress on stderr for blobs over 8 MiB, every 10%. */
function progressPrinter(io: Io) {
  const last = new Map<string, number>();
  return ({ what, digest, sent, total }: { what: string; digest: string; sent: number; total: number }) => {
    if (total < 8 * 2 ** 20) return;
    const pct = Math.floor((sent / total) * 10) * 10;
    if ((last.get(digest) ?? -1) >= pct) return;
    last.set(digest, pct);
    io.err(`pushing ${what} ${digest.slice(7, 19)}: ${pct}% of ${(total / 2 ** 20).toFixed(1)} MiB`);
  };
}

function summary(b: BuildOverlayResult, pushed: PushOverlayResult | undefined, ref: Reference) {
  return {
    ok: true,
    image: pushed ? pushed.pinned : `${refName(ref)}@${b.manifestDigest}`,
    digest: b.manifestDigest,
    tag: ref.tag ?? null,
    pushed: !!pushed,
    base: b.base,
    platform: { ...b.platformChosen.platform, fromIndex: b.platformChosen.fromIndex, descriptor: b.platformChosen.descriptor.digest, available: b.platformChosen.available },
    layer: { digest: b.layer.descriptor.digest, diffId: b.layer.diffId, size: b.layer.descriptor.size, mediaType: b.layer.descriptor.mediaType, entries: b.layer.entries.length },
    config: b.configDescriptor.digest,
    manifestMediaType: b.manifestMediaType,
    specDigest: b.specDigest,
    cache: b.cache,
    sourceDateEpoch: b.sourceDateEpoch,
    outputLayout: b.outputLayout ?? null,
    upToDate: pushed?.upToDate ?? false,
    blobs: pushed?.blobs ?? [],
    bytesUploaded: pushed?.bytesUploaded ?? 0,
    signature: pushed?.signature ?? null,
    bundleSignature: pushed?.bundleSignature ?? null,
    attestations: pushed?.attestations ?? null,
    trust: b.trust ?? null,
    warnings: b.warnings,
  };
}

/** `sha256-<hex>.sig and a Sigstore bundle (fallback tag sha256-<hex>)`, or '' when unsigned. */
export function signatureSummary(p: Pick<PushOverlayResult, 'signature' | 'bundleSignature'>): string {
  const parts: string[] = [];
  if (p.signature) parts.push(`${p.signature.tag}${p.signature.appended ? '' : ' (already there)'}`);
  if (p.bundleSignature) parts.push(`a Sigstore bundle (${p.bundleSignature.via === 'referrers-api' ? 'referrers API' : `fallback tag ${p.bundleSignature.tag}`}${p.bundleSignature.appended ? '' : ', already there'})`);
  return parts.join(' and ');
}

/** `; attested (https://cyclonedx.org/bom, https://slsa.dev/provenance/v1)`, or ''. */
function attestedAs(p: Pick<PushOverlayResult, 'attestations'>): string {
  return p.attestations?.length ? `; attested (${p.attestations.map((a) => `${a.predicateType} as ${a.format === 'legacy' ? a.tag : 'a bundle'}${a.appended ? '' : ', already there'}`).join('; ')})` : '';
}

export async function runBuild(f: BuildFlags, io: Io): Promise<number> {
  const ref = targetReference(f.tag);
  if (f.signKey && !f.push) {
    throw new CleanimgError('--sign-key needs --push', [{ code: 'CLI021', path: '--sign-key', message: 'a signature is pushed next to the image it signs', fix: 'add --push' }]);
  }
  // Everything that can be refused is checked before anything is pushed: the key and its password first.
  const signatureFormat = parseSignatureFormat(f.signatureFormat);
  if (f.signatureFormat !== undefined && !f.signKey) {
    throw new CleanimgError('--signature-format needs --sign-key', [{ code: 'CLI025', path: '--signature-format', message: 'there is no signature to format without a key', fix: 'add --sign-key cosign.key, or drop --signature-format' }]);
  }
  if (f.attest && !f.signKey) {
    throw new CleanimgError('--attest needs --sign-key', [{ code: 'CLI027', path: '--attest', message: 'attestations are signed with the image\'s key', fix: 'add --sign-key cosign.key (and --push)' }]);
  }
  let key: SigningKey | undefined;
  if (f.signKey) key = await (await import('../../oci/signing/index.js')).loadPrivateKeyFile(f.signKey, process.env.COSIGN_PASSWORD);

  const regOpts = await registryOptions(f);
  const clients = new Map<string, RegistryClient>();
  const client = (registry: string) => {
    let c = clients.get(registry);
    if (!c) clients.set(registry, (c = new RegistryClient(registry, regOpts)));
    return c;
  };
  // With --push, ask for the tag now: the answer (and the scheme probe and auth it needs) arrives while
  // the spec and the inputs are checked. It sends nothing (a HEAD); a failure here only means "ask
  // again later", where the real error surfaces.
  const tagHead = f.push && ref.tag !== undefined ? client(ref.registry).headManifest(ref.repository, ref.tag).then((d) => d !== undefined, () => false) : undefined;
  let built: BuildOverlayResult | undefined;
  try {
    // With the cache on, a validated spec is remembered by its bytes (spec-cache.ts).
    const cache = f.cache === false ? undefined : new LayerCache(f.cacheDir !== undefined ? path.join(path.resolve(f.cacheDir), 'layers') : defaultCacheDir());
    const loaded = await loadSpecCached(f.spec, cache ? path.join(cache.dir, 'specs') : undefined);
    const baseRef = parseReference(loaded.spec.base_image.text);
    const source: ImageSource = f.baseLayout ? await LayoutImageSource.open(f.baseLayout) : new RegistryImageSource(client(baseRef.registry), baseRef.repository);
    // With --push, a layer that has to be built is uploaded while it is built (see LayerStreamer), unless
    // the tag already exists: a re-push (a CI machine with an empty cache) most likely builds a layer the
    // registry has, so it is built first and HEADed, and nothing is sent when it is there.
    const tagExists = async (): Promise<boolean> => (await tagHead) ?? false;
    const streamer = f.push ? new LayerStreamer(client(ref.registry), ref.repository, async () => !(await tagExists())) : undefined;
    built = await buildOverlay({
      specPath: loaded.specPath,
      spec: loaded.spec,
      specDir: loaded.specDir,
      source,
      tag: f.tag,
      ...(f.outputLayout ? { outputLayout: f.outputLayout } : {}),
      ...(f.allowPrivateKeys ? { allowPrivateKeys: true } : {}),
      ...(f.format ? { manifestFormat: f.format } : {}),
      ...(f.sourceDateEpoch !== undefined ? { sourceDateEpoch: Number(f.sourceDateEpoch) } : {}),
      ...(cache ? { cache } : {}),
      ...(streamer ? { onLayerData: streamer.onData, onLayerBuilt: streamer.onBuilt } : {}),
    }).catch(async (e: unknown) => {
      await streamer?.abort();
      throw e;
    });
    for (const w of built.warnings) io.err(`warning: ${w}`);
    if (built.trust && !f.json) for (const line of (await import('../../customize/trust/prepare.js')).describeTrust(built.trust)) io.err(line);
    if (!f.json) {
      const p = built.platformChosen;
      io.err(`base ${built.base.reference}: ${p.fromIndex ? `chose ${p.descriptor.digest} for ${[p.platform.os, p.platform.architecture, p.platform.variant].filter(Boolean).join('/')} from the index` : 'single-platform manifest'}`);
      io.err(`layer ${built.layer.descriptor.digest} (${built.layer.entries.length} entries, ${built.layer.descriptor.size} bytes${built.cache === 'hit' ? ', from the layer cache' : ''})`);
    }
    let pushed: PushOverlayResult | undefined;
    if (f.push) {
      // The streamed layer's commit (started when its last byte was built) is awaited inside the push,
      // while the config and base layers are checked and sent.
      const committed = streamer?.started ? streamer.commit(built) : undefined;
      committed?.catch(() => undefined);
      pushed = await pushOverlay(built, {
        target: client(ref.registry),
        ref,
        baseRef,
        ...(source instanceof LayoutImageSource ? { openBaseLayer: (d) => source.openBlob(d.digest) } : { baseClient: client(baseRef.registry) }),
        ...(key ? { signingKey: key, signatureFormat } : {}),
        ...(key && f.attest ? { attest: { builderVersion: VERSION, specDir: loaded.specDir } } : {}),
        ...(committed ? { streamedLayer: { digest: built.layer.descriptor.digest, committed } } : {}),
        ...(f.json ? {} : { onProgress: progressPrinter(io) }),
      });
    }
    const s = summary(built, pushed, ref);
    if (f.json) io.out(JSON.stringify(s, null, 2));
    else {
      if (pushed) {
        const uploaded = pushed.blobs.filter((b) => b.outcome === 'uploaded').length;
        const signed = signatureSummary(pushed);
        io.err(`pushed ${uploaded} of ${pushed.blobs.length} blobs (${pushed.bytesUploaded} bytes)${signed ? `; signed as ${signed}` : ''}${attestedAs(pushed)}`);
      }
      if (built.outputLayout) io.err(`wrote OCI layout ${built.outputLayout.dir}:${built.outputLayout.tag}`);
      io.out(s.image);
    }
    return EXIT.ok;
  } finally {
    await built?.dispose();
    for (const c of clients.values()) await c.close();
  }
}
