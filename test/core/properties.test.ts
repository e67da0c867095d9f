/**
 * Property-based tests of the hardened core (fast-check): random VALID HardenedDeployment and
 * EnvConfig props always give objects that pass the one rule list with zero findings and carry the
 * hardened fields; random INVALID props (valid ones with one mutation that breaks one known rule)
 * are always refused with that rule's code, a path and a fix.
 *
 * Runs: about 5000 per `npm test` (see RUNS). A failure prints fast-check's seed and path; replay it
 * with `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/core/properties.test.ts`, or raise the
 * number of runs with `FC_RUNS=20000`.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { envConfig, hardenedDeployment, type EnvConfigProps, type HardenedContainerProps } from '../../src/core';
import { CleanimgError } from '../../src/errors';
import { checkObject, checkObjects } from '../../src/rules';
import {
  DEPLOYMENT_MUTATIONS, ENV_CONFIG_MUTATIONS, deploymentProps, scratchBytes, validDeploymentCase, validEnvConfig, type DeploymentCase,
} from './properties.arbitraries';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const PATH = process.env.FC_PATH;
const runs = (n: number): fc.Parameters<unknown> => ({
  numRuns: process.env.FC_RUNS ? Number(process.env.FC_RUNS) : n,
  ...(SEED !== undefined ? { seed: SEED } : {}),
  ...(PATH ? { path: PATH } : {}),
});
const RUNS = { validDeployment: 1000, invalidDeployment: 1500, validEnvConfig: 1000, invalidEnvConfig: 600 };

const PINNED = /@sha256:[0-9a-f]{64}$/;
const HARDENED_VOLUME_TYPES = new Set(['emptyDir', 'persistentVolumeClaim', 'configMap', 'secret']);
const MI = 2 ** 20;

/** The problems of a refusal, or a test failure when there is none. */
function refusal(fn: () => unknown): CleanimgError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CleanimgError) return e;
    throw new Error(`expected a CleanimgError, got ${String(e)}`);
  }
  throw new Error('expected a refusal, but the props were accepted');
}

function bytes(q: string): number {
  const m = /^(\d+)(Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 * MI : m[2] === 'Mi' ? MI : 1);
}

describe('property: valid HardenedDeployment props give hardened objects that pass every rule', () => {
  it(`${RUNS.validDeployment} random deployments`, () => {
    let withNetBind = 0, withConfig = 0, withInit = 0, withClaims = 0;
    fc.assert(
      fc.property(validDeploymentCase(), (c: DeploymentCase) => {
        const props = deploymentProps(c);
        const result = hardenedDeployment(props);
        // Our rule list finds nothing, on the Deployment and its ServiceAccount.
        expect(checkObjects(result.objects)).toEqual([]);

        const d = result.deployment as any;
        const uid = props.runAsUser ?? 65532;
        const gid = props.runAsGroup ?? 65532;
        expect(d.spec.replicas).toBe(props.replicas ?? 2);
        expect(d.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': props.name });
        expect(d.spec.template.metadata.labels['app.kubernetes.io/name']).toBe(props.name);
        const pod = d.spec.template.spec;
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.serviceAccountName).toBe(props.name);
        expect((result.serviceAccount as any).automountServiceAccountToken).toBe(false);
        expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid, seccompProfile: { type: 'RuntimeDefault' } });
        for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) expect(pod[k]).toBeUndefined();

        const volumes = new Map<string, any>((pod.volumes as any[]).map((v) => [v.name, v]));
        for (const v of volumes.values()) {
          const type = Object.keys(v).find((k) => k !== 'name')!;
          expect(HARDENED_VOLUME_TYPES.has(type), `volume type ${type}`).toBe(true);
          if (type === 'emptyDir') expect(v.emptyDir.sizeLimit).toMatch(/^\d+(Mi|Gi)$/);
        }

        const all: [HardenedContainerProps, any, boolean][] = [
          ...(props.initContainers ?? []).map((p, i) => [p, pod.initContainers[i], true] as [HardenedContainerProps, any, boolean]),
          ...props.containers.map((p, i) => [p, pod.containers[i], false] as [HardenedContainerProps, any, boolean]),
        ];
        for (const [p, k, init] of all) {
          expect(k.name).toBe(p.name);
          expect(k.image).toMatch(PINNED);
          expect(k.securityContext).toEqual({
            runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false,
            capabilities: { drop: ['ALL'], ...(p.netBindService ? { add: ['NET_BIND_SERVICE'] } : {}) }, seccompProfile: { type: 'RuntimeDefault' },
          });
          if (p.netBindService) expect((k.ports as any[]).some((x) => x.containerPort < 1024)).toBe(true);
          for (const port of k.ports ?? []) expect(port.hostPort).toBeUndefined();
          // Requests and limits are always set; what the disk emptyDirs can hold fits the ephemeral limit.
          expect(Object.keys(k.resources.requests).sort()).toEqual(['cpu', 'ephemeral-storage', 'memory']);
          expect(k.resources.limits.memory).toBeDefined();
          expect(bytes(k.resources.limits['ephemeral-storage'])).toBeGreaterThanOrEqual(scratchBytes(p));
          const mounts = k.volumeMounts as any[];
          expect(mounts.some((m) => m.mountPath === '/tmp' && volumes.get(m.name)?.emptyDir)).toBe(true);
          expect(new Set(mounts.map((m) => m.mountPath)).size).toBe(mounts.length);
          for (const m of mounts) {
            const v = volumes.get(m.name);
            expect(v, `volume of mount ${m.mountPath}`).toBeDefined();
            if (v.configMap || v.secret) expect(m.readOnly).toBe(true);
          }
          // Literal env first, then the EnvConfig keys; never a secretKeyRef or envFrom.
          for (const [name, value] of Object.entries(p.env ?? {})) expect(k.env).toContainEqual({ name, value });
          for (const e of k.env ?? []) expect(e.valueFrom?.secretKeyRef).toBeUndefined();
          expect(k.envFrom).toBeUndefined();
          if (!init) {
            expect(k.readinessProbe).toBeDefined();
            expect(k.livenessProbe).toBeDefined();
          } else {
            expect(k.readinessProbe ?? k.livenessProbe ?? k.startupProbe).toBeUndefined();
          }
          if (p.command) expect(k.command).toEqual(p.command);
        }
        if (props.containers.some((x) => x.netBindService)) withNetBind++;
        if (props.containers.some((x) => x.config?.length)) withConfig++;
        if (props.initContainers?.length) withInit++;
        if (pod.volumes.some((v: any) => v.persistentVolumeClaim)) withClaims++;
      }),
      runs(RUNS.validDeployment),
    );
    // The generator really explores these corners (the property would be vacuous without them).
    const n = Number(process.env.FC_RUNS ?? RUNS.validDeployment);
    if (!PATH) for (const [what, count] of Object.entries({ withNetBind, withConfig, withInit, withClaims })) expect([what, count > n / 50]).toEqual([what, true]);
  });
});

describe('property: valid EnvConfig props give an immutable, content-named ConfigMap that passes every rule', () => {
  it(`${RUNS.validEnvConfig} random EnvConfigs`, () => {
    fc.assert(
      fc.property(validEnvConfig(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/), undefined), fc.nat(), (p: EnvConfigProps, shift) => {
        const r = envConfig(p);
        const keys = Object.keys(p.data ?? {});
        if (keys.length === 0) {
          expect(r.configMap).toBeUndefined();
        } else {
          const cm = r.configMap as any;
          expect(checkObject(cm)).toEqual([]);
          expect(cm.immutable).toBe(true);
          expect(cm.metadata.name).toMatch(new RegExp(`^${p.name}-[0-9a-f]{10}$`));
          expect(r.configMapName).toBe(cm.metadata.name);
          expect(cm.data).toEqual(p.data);
          expect(Object.keys(cm.data)).toEqual([...keys].sort());
          // The name depends on the content only: the same data in another key order gives the same
          // name; any change of a value gives another.
          const rotated = Object.fromEntries([...keys.slice(shift % keys.length), ...keys.slice(0, shift % keys.length)].map((k) => [k, p.data![k]!]));
          expect(envConfig({ ...p, data: rotated }).configMapName).toBe(r.configMapName);
          const changed = { ...p.data, [keys[0]!]: `${p.data![keys[0]!]}\n# changed` };
          expect(envConfig({ ...p, data: changed }).configMapName).not.toBe(r.configMapName);
        }
        for (const m of r.volumeMounts) expect(m.readOnly).toBe(true);
        const secretVolumes = r.volumes.filter((v: any) => v.secret);
        expect(secretVolumes.map((v: any) => v.secret.secretName)).toEqual((p.secrets ?? []).map((s) => s.secretName));
        for (const v of secretVolumes as any[]) expect(v.secret.defaultMode).toBe(0o440);
        for (const e of r.env as any[]) {
          expect(e.valueFrom.configMapKeyRef.name).toBe(r.configMapName);
          expect(e.valueFrom.secretKeyRef).toBeUndefined();
        }
        expect(r.env.map((e: any) => e.name).sort()).toEqual(Object.keys(p.envKeys ?? {}).sort());
      }),
      runs(RUNS.validEnvConfig),
    );
  });
});

describe('property: invalid props are always refused with the rule they break', () => {
  it(`${RUNS.invalidDeployment} random deployments, each with one mutation`, () => {
    const hits = new Map<string, number>();
    fc.assert(
      fc.property(validDeploymentCase(), fc.constantFrom(...DEPLOYMENT_MUTATIONS), fc.nat(), (c, mutation, pick) => {
        const props = structuredClone(deploymentProps(c)) as any;
        mutation.apply(props, pick);
        const err = refusal(() => hardenedDeployment(props));
        const codes = [...new Set(err.problems.map((p) => p.code))];
        expect([mutation.what, codes]).toEqual([mutation.what, [mutation.rule]]);
        for (const p of err.problems) {
          expect(p.path.length).toBeGreaterThan(0);
          expect(p.fix.length).toBeGreaterThan(0);
          expect(err.message).toContain(`${p.code} `);
        }
        hits.set(mutation.what, (hits.get(mutation.what) ?? 0) + 1);
      }),
      runs(RUNS.invalidDeployment),
    );
    if (!PATH) for (const m of DEPLOYMENT_MUTATIONS) expect([m.what, (hits.get(m.what) ?? 0) > 0]).toEqual([m.what, true]);
  });

  it(`${RUNS.invalidEnvConfig} random EnvConfigs, each with one mutation`, () => {
    const hits = new Map<string, number>();
    fc.assert(
      fc.property(validEnvConfig(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/), undefined), fc.constantFrom(...ENV_CONFIG_MUTATIONS), fc.nat(), (p, mutation, pick) => {
        const props = structuredClone(p) as Record<string, any>;
        mutation.apply(props, pick);
        const err = refusal(() => envConfig(props as EnvConfigProps));
        const codes = [...new Set(err.problems.map((x) => x.code))];
        expect([mutation.what, codes]).toEqual([mutation.what, [mutation.rule]]);
        for (const x of err.problems) expect(x.fix.length).toBeGreaterThan(0);
        hits.set(mutation.what, (hits.get(mutation.what) ?? 0) + 1);
      }),
      runs(RUNS.invalidEnvConfig),
    );
    if (!PATH) for (const m of ENV_CONFIG_MUTATIONS) expect([m.what, (hits.get(m.what) ?? 0) > 0]).toEqual([m.what, true]);
  });
});

afterAll(() => {
  if (SEED !== undefined) process.stderr.write(`[properties] seed ${SEED}\n`);
});
