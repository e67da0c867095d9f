/**
 * Starts the real policy pack (policy-pack/index.js) the way the Pulumi CLI does: a node process in
 * the pack directory that serves the Analyzer gRPC service on 127.0.0.1 and prints its port. Then
 * talks to it with the analyzer protocol of @pulumi/pulumi, as the engine does during preview.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require('@grpc/grpc-js');
const analyzerPb = require('@pulumi/pulumi/proto/analyzer_pb');
const analyzerGrpc = require('@pulumi/pulumi/proto/analyzer_grpc_pb');
const structPb = require('google-protobuf/google/protobuf/struct_pb');
const emptyPb = require('google-protobuf/google/protobuf/empty_pb');

export const ROOT = join(__dirname, '..', '..');
export const PACK_DIR = join(ROOT, 'policy-pack');

export interface Diagnostic {
  readonly policyName: string;
  readonly message: string;
  /** 0 advisory, 1 mandatory, 2 disabled, 3 remediate (pulumirpc.EnforcementLevel). */
  readonly enforcementLevel: number;
}

export interface AnalyzedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Resource inputs as the engine sends them (secrets and unknowns in the wire form). */
  readonly props: Record<string, unknown>;
  readonly parent?: string;
  /** The resource's provider, as the engine sends it (its inputs, e.g. a default `namespace`). */
  readonly provider?: { readonly type: string; readonly name: string; readonly urn: string; readonly props: Record<string, unknown> };
}

export interface PackClient {
  info(): Promise<{ name: string; policies: { name: string; enforcementLevel: number; description: string }[] }>;
  analyze(r: AnalyzedResource): Promise<Diagnostic[]>;
  stop(): void;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Compiles src/ to lib/ when lib/pulumi/policy.js is missing or older than a source file. */
export function ensureBuilt(): void {
  let built = 0;
  try { built = statSync(join(ROOT, 'lib', 'pulumi', 'policy.js')).mtimeMs; } catch { /* not built */ }
  if (built >= newest(join(ROOT, 'src'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}

/**
 * Per-policy config, as `pulumi preview --policy-pack-config` sends it (each policy keeps its
 * enforcement level: the CLI fills in the policy's own when the file names none).
 */
export type PackPolicyConfig = Record<string, Record<string, unknown>>;

export async function startPack(env: Record<string, string> = {}, config?: PackPolicyConfig): Promise<PackClient> {
  ensureBuilt();
  const child: ChildProcess = spawn(process.execPath, ['index.js'], { cwd: PACK_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`policy pack did not start: ${stderr}`)), 90_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`policy pack exited with ${code}: ${stderr}`)); });
  });
  const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, req: unknown) => new Promise<T>((resolve, reject) =>
    client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));

  if (config) {
    const req = new analyzerPb.ConfigureAnalyzerRequest();
    for (const [policy, props] of Object.entries(config)) {
      const c = new analyzerPb.PolicyConfig();
      c.setEnforcementlevel(1); // mandatory, as the pack declares it
      c.setProperties(structPb.Struct.fromJavaScript(props));
      req.getPolicyconfigMap().set(policy, c);
    }
    await call('configure', req);
  }

  return {
    async info() {
      const res: any = await call('getAnalyzerInfo', new emptyPb.Empty());
      return {
        name: res.getName(),
        policies: res.getPoliciesList().map((p: any) => ({ name: p.getName(), enforcementLevel: p.getEnforcementlevel(), description: p.getDescription() })),
      };
    },
    async analyze(r) {
      const req = new analyzerPb.AnalyzeRequest();
      req.setType(r.type);
      req.setName(r.name);
      req.setUrn(r.urn);
      req.setProperties(structPb.Struct.fromJavaScript(r.props));
      const opts = new analyzerPb.AnalyzerResourceOptions();
      if (r.parent) opts.setParent(r.parent);
      req.setOptions(opts);
      if (r.provider) {
        const p = new analyzerPb.AnalyzerProviderResource();
        p.setType(r.provider.type);
        p.setName(r.provider.name);
        p.setUrn(r.provider.urn);
        p.setProperties(structPb.Struct.fromJavaScript(r.provider.props));
        req.setProvider(p);
      }
      const res: any = await call('analyze', req);
      return res.getDiagnosticsList().map((d: any) => ({ policyName: d.getPolicyname(), message: d.getMessage(), enforcementLevel: d.getEnforcementlevel() }));
    },
    stop() {
      client.close();
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
