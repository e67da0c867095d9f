/**
 * fast-check arbitraries for the hardened core's props: random VALID HardenedDeployment and
 * EnvConfig props (every field the types allow, combined at random, within the documented limits),
 * and MUTATIONS that each break exactly one known rule. Used by test/core/properties.test.ts
 * (our rules, thousands of runs) and test/e2e/properties.e2e.test.ts (the upstream Pod Security
 * evaluator and the real API server judge a few hundred samples).
 *
 * The generators build their values from vocabularies and patterns, not from the code under test:
 * a value is "valid" because of how it is made (digest-pinned images, IDs >= 10000, disjoint ports,
 * emptyDirs that fit the ephemeral-storage limit...), not because our checker says so. The two
 * exceptions are noted where they are (secret-looking NAMES are filtered out with the project's
 * own predicate, since a random upper-case word may end in PASS or DSN; flags naming a shell too).
 */
import fc from 'fast-check';
import { envConfig, nonRootId, type EnvConfigProps, type HardenedContainerProps, type HardenedDeploymentProps, type ProbeProps, type WritablePath } from '../../src/core';
import { looksLikeSecretName } from '../../src/rules';
import { celPatterns } from '../../src/rules/cel';

const MI = 2 ** 20;

// ------------------------------------------------------------------ small pieces

/** A lower-case DNS label of at most `max` characters after `prefix`. */
const label = (prefix: string, max = 12) => fc.stringMatching(new RegExp(`^[a-z0-9]([a-z0-9-]{0,${max - 2}}[a-z0-9])?$`)).map((s) => `${prefix}${s}`);

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const REGISTRIES = ['ghcr.io/acme', 'registry.example.com:5000/team', '127.0.0.1:5000', 'docker.io/library', 'quay.io/org/sub', 'localhost/x'];
const repoPart = fc.stringMatching(/^[a-z0-9]+([._-][a-z0-9]+){0,2}$/).filter((s) => s.length <= 30);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);

/** A digest-pinned image reference, with or without a tag, sometimes as an ImageLike. */
export const pinnedImage = fc
  .tuple(fc.constantFrom(...REGISTRIES), repoPart, fc.option(tag, { nil: undefined }), hex64, fc.boolean())
  .map(([reg, repo, t, hex, asObject]) => {
    const ref = `${reg}/${repo}${t ? `:${t}` : ''}@sha256:${hex}` as `${string}@sha256:${string}`;
    return asObject ? { imageRef: ref } : ref;
  });

/** An exec-form argv whose program is no shell. */
const PROGRAMS = ['/app/server', '/usr/bin/app', '/usr/local/bin/gateway', '/ko-app/api', 'postgres', 'nginx', '/bin/true', 'node', 'python3'];
// A flag whose value names a shell (`--a=Sh`) is refused by HD016 by design (a wrapper could run it):
// the second exception, filtered with the rule's own pattern.
const SHELL = celPatterns.toJsRegExp(celPatterns.SHELL_WORD);
const flag = fc.stringMatching(/^--[a-z][a-z-]{0,12}(=[A-Za-z0-9._/-]{0,16})?$/).filter((f) => !SHELL.test(f));
const argv = fc.tuple(fc.constantFrom(...PROGRAMS), fc.array(flag, { maxLength: 4 })).map(([p, rest]) => [p, ...rest]);

/** A value that is no secret: free text without URL credentials or PEM blocks, or a plain URL. */
const safeValue = fc.oneof(
  fc.string({ maxLength: 40 }).filter((v) => !v.includes('://') && !v.includes('-----BEGIN')),
  fc.constantFrom('https://api.example.com/v1', 'postgres://db.databases.svc:5432/app', 'info', '8080', 'true', '', 'a=b'),
);

/** An environment variable name (upper case). Names that look secret are left out with the project's predicate. */
const envName = (prefix: string) => fc.stringMatching(/^[A-Z][A-Z0-9_]{0,14}$/).map((s) => `${prefix}${s}`).filter((n) => !looksLikeSecretName(n));

const configKey = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,14}$/).filter((k) => !looksLikeSecretName(k));

/** A config file: `name=value` lines with non-secret names, or free text without `=`/`:`. */
const configFile = fc.oneof(
  fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/).filter((k) => !looksLikeSecretName(k)), fc.stringMatching(/^[A-Za-z0-9 ._/-]{0,20}$/)), { maxLength: 5 })
    .map((lines) => lines.map(([k, v]) => `${k}=${v}`).join('\n')),
  fc.string({ maxLength: 60 }).filter((v) => !/[=:]/.test(v) && !v.includes('-----BEGIN')),
);

const labelValue = fc.stringMatching(/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?)?$/);
const LABEL_KEYS = ['team', 'tier', 'cost-center', 'example.com/owner', 'app.kubernetes.io/part-of', 'app.kubernetes.io/component', 'app.kubernetes.io/name'];
const labels = fc.dictionary(fc.constantFrom(...LABEL_KEYS), labelValue, { maxKeys: 3 });
const annotations = fc.dictionary(fc.constantFrom('example.com/owner', 'description', 'cleanimg.dev/note'), fc.string({ maxLength: 30 }), { maxKeys: 2 });

// ------------------------------------------------------------------ EnvConfig

/** The body of valid EnvConfig props, given its name and namespace (built once, not per sample). */
const ENV_CONFIG_BODY: fc.Arbitrary<(name: string, namespace: string | undefined) => EnvConfigProps> = fc
  .record({
    data: fc.dictionary(configKey, fc.oneof(configFile, safeValue), { maxKeys: 4 }),
    dirMount: fc.boolean(),
    fileMountPicks: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    envPicks: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    secrets: fc.array(
      fc.record({
        secretName: fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/),
        keys: fc.option(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/), { minLength: 1, maxLength: 3 }), { nil: undefined }),
        optional: fc.option(fc.boolean(), { nil: undefined }),
      }),
      { maxLength: 2 },
    ),
    labels: fc.option(labels, { nil: undefined }),
  })
  .map((r) => (name: string, namespace: string | undefined): EnvConfigProps => {
    const keys = Object.keys(r.data);
    const fileMounts = Object.fromEntries(keys.filter((_, i) => r.fileMountPicks[i]).map((k) => [k, `/etc/files/${name}/${k}`]));
    const envKeys = Object.fromEntries(keys.filter((_, i) => r.envPicks[i]).map((k, i) => [`CFG_${name.replace(/-/g, '_').toUpperCase()}_${i}`, k]));
    return {
      name,
      ...(namespace ? { namespace } : {}),
      ...(keys.length ? { data: { ...r.data } } : {}),
      ...(keys.length && r.dirMount ? { mountPath: `/etc/cfg/${name}` } : {}),
      ...(Object.keys(fileMounts).length ? { fileMounts } : {}),
      ...(Object.keys(envKeys).length ? { envKeys } : {}),
      ...(r.secrets.length ? { secrets: r.secrets.map((s, i) => ({ secretName: s.secretName, mountPath: `/run/secrets/${name}-${i}`, ...(s.keys ? { keys: [...s.keys] } : {}), ...(s.optional !== undefined ? { optional: s.optional } : {}) })) } : {}),
      ...(r.labels ? { labels: { ...r.labels } } : {}),
    };
  });

/** Valid EnvConfig props (its ConfigMap, file mounts, env keys and secret references) for a namespace. */
export function validEnvConfig(name: fc.Arbitrary<string>, namespace: string | undefined): fc.Arbitrary<EnvConfigProps> {
  return fc.tuple(name, ENV_CONFIG_BODY).map(([n, body]) => body(n, namespace));
}

// ------------------------------------------------------------------ HardenedDeployment

const PORT_WORDS = ['http', 'https', 'grpc', 'metrics', 'admin', 'web', 'api'];

/** A probe on `port` (filled in later: the arbitrary is built once, not per sample). */
const PROBE: fc.Arbitrary<(port: number) => ProbeProps> = (() => {
  const timing = {
    initialDelaySeconds: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
    periodSeconds: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    timeoutSeconds: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    failureThreshold: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  };
  const handler = fc.oneof(
    fc.record({ http: fc.record({ path: fc.constantFrom('/healthz', '/ready', '/', '/-/live'), port: fc.constant(0), scheme: fc.option(fc.constantFrom('HTTP' as const, 'HTTPS' as const), { nil: undefined }) }) }),
    fc.record({ tcp: fc.record({ port: fc.constant(0) }) }),
    fc.record({ grpc: fc.record({ port: fc.constant(0), service: fc.option(fc.constantFrom('health', 'grpc.health.v1.Health'), { nil: undefined }) }) }),
    fc.record({ exec: fc.record({ command: argv }) }),
  );
  return fc.tuple(handler, fc.record(timing)).map(([h, t]) => (port: number) => {
    const probe = JSON.parse(JSON.stringify({ ...h, ...t })) as Record<string, any>;
    for (const k of ['http', 'tcp', 'grpc']) if (probe[k]) probe[k].port = port;
    return probe as ProbeProps;
  });
})();
const PROBES = fc.record({ readiness: PROBE, liveness: PROBE, startup: PROBE });

/** One container's generated shape, before its EnvConfigs are attached. */
export interface ContainerCase {
  readonly props: Omit<HardenedContainerProps, 'config'>;
  /** Indexes into the case's EnvConfigs that this container receives. */
  readonly configs: readonly number[];
}

/** A valid deployment: its props without config attachments, and the EnvConfig props it uses. */
export interface DeploymentCase {
  readonly envConfigs: readonly EnvConfigProps[];
  readonly deployment: Omit<HardenedDeploymentProps, 'containers' | 'initContainers'>;
  readonly containers: readonly ContainerCase[];
  readonly initContainers: readonly ContainerCase[];
}

/**
 * A container. Ports are disjoint across the pod by construction: container `index` takes
 * privileged ports in [1 + 100·index, 100 + 100·index] and others in [1024 + 10000·index, +9999].
 * Scratch space (the emptyDirs on disk, including the default 64Mi /tmp) always fits the
 * ephemeral-storage limit.
 */
const containerArbs = new Map<string, fc.Arbitrary<ContainerCase>>();
function containerArb(index: number, init: boolean, configCount: number): fc.Arbitrary<ContainerCase> {
  const key = `${index}/${init}/${configCount}`;
  let arb = containerArbs.get(key);
  if (!arb) containerArbs.set(key, (arb = makeContainerArb(index, init, configCount)));
  return arb;
}
function makeContainerArb(index: number, init: boolean, configCount: number): fc.Arbitrary<ContainerCase> {
  return fc
    .record({
      name: label(init ? 'init-' : 'ctr-', 8),
      image: pinnedImage,
      command: fc.option(argv, { nil: undefined }),
      args: fc.option(fc.array(flag, { maxLength: 3 }), { nil: undefined }),
      workingDir: fc.option(fc.constantFrom('/app', '/srv/data', '/home/nonroot'), { nil: undefined }),
      highPorts: init ? fc.constant<number[]>([]) : fc.uniqueArray(fc.integer({ min: 0, max: 9999 }), { maxLength: 3 }),
      netBindService: init ? fc.constant(false) : fc.boolean(),
      lowPort: fc.integer({ min: 1, max: 100 }),
      portNames: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      protocols: fc.array(fc.constantFrom(undefined, 'TCP' as const, 'UDP' as const, 'SCTP' as const), { minLength: 4, maxLength: 4 }),
      env: fc.dictionary(envName('APP_'), safeValue, { maxKeys: 4 }),
      scratch: fc.uniqueArray(
        fc.record({ slug: fc.stringMatching(/^[a-z0-9]{1,8}$/), mi: fc.integer({ min: 1, max: 512 }), memory: fc.boolean() }),
        { maxLength: 3, selector: (s) => s.slug },
      ),
      tmpMi: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
      claims: fc.uniqueArray(fc.record({ slug: fc.stringMatching(/^[a-z0-9]{1,8}$/), claim: label('pvc-', 10), subPath: fc.option(fc.constantFrom('data', 'pg/16'), { nil: undefined }) }), { maxLength: 2, selector: (c) => c.slug }),
      resources: fc.record({
        cpu: fc.option(fc.record({ request: fc.integer({ min: 1, max: 4000 }), extra: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }) }), { nil: undefined }),
        memory: fc.option(fc.record({ request: fc.integer({ min: 16, max: 4096 }), extra: fc.integer({ min: 0, max: 4096 }) }), { nil: undefined }),
        ephemeral: fc.option(fc.record({ request: fc.integer({ min: 1, max: 1024 }), extra: fc.integer({ min: 0, max: 2048 }) }), { nil: undefined }),
      }),
      probes: fc.boolean(),
      startup: fc.boolean(),
      probeSet: PROBES,
      configs: fc.subarray([...Array(configCount).keys()]),
    })
    .map((r): ContainerCase => {
      const ports = [
        ...(r.netBindService ? [{ containerPort: 1 + 100 * index + (r.lowPort - 1) }] : []),
        ...r.highPorts.map((k) => ({ containerPort: 1024 + 10000 * index + k })),
      ].map((p, j) => ({
        ...p,
        ...(r.portNames[j] ? { name: `${PORT_WORDS[j % PORT_WORDS.length]}-${index}` } : {}),
        ...(r.protocols[j] ? { protocol: r.protocols[j] } : {}),
      }));
      // Without a port there is no default probe: a long-running container then declares both.
      const needProbes = !init && (ports.length === 0 || r.probes);
      const probePort = ports[0]?.containerPort ?? 8080;
      const pr = needProbes
        ? { readiness: r.probeSet.readiness(probePort), liveness: r.probeSet.liveness(probePort), ...(r.startup ? { startup: r.probeSet.startup(probePort) } : {}) }
        : undefined;
      {
        const writablePaths: WritablePath[] = [
          ...r.scratch.map((s) => ({ path: `/var/w-${s.slug}`, sizeLimit: `${s.mi}Mi`, ...(s.memory ? { medium: 'Memory' as const } : {}) })),
          ...(r.tmpMi !== undefined ? [{ path: '/tmp', sizeLimit: `${r.tmpMi}Mi` }] : []),
          ...r.claims.map((c) => ({ path: `/data/${c.slug}`, claimName: c.claim, ...(c.subPath ? { subPath: c.subPath } : {}) })),
        ];
        const diskMi = r.scratch.filter((s) => !s.memory).reduce((a, s) => a + s.mi, 0) + (r.tmpMi ?? 64);
        let ephemeral = r.resources.ephemeral;
        // The default limit is 1Gi (request 64Mi): above that the container must say so.
        if (!ephemeral && diskMi > 1024) ephemeral = { request: 64, extra: 0 };
        const resources = {
          ...(r.resources.cpu ? { cpu: { request: `${r.resources.cpu.request}m`, ...(r.resources.cpu.extra !== undefined ? { limit: `${r.resources.cpu.request + r.resources.cpu.extra}m` } : {}) } } : {}),
          ...(r.resources.memory ? { memory: { request: `${r.resources.memory.request}Mi`, limit: `${r.resources.memory.request + r.resources.memory.extra}Mi` } } : {}),
          ...(ephemeral ? { ephemeralStorage: { request: `${ephemeral.request}Mi`, limit: `${Math.max(ephemeral.request, diskMi) + ephemeral.extra}Mi` } } : {}),
        };
        const props: Omit<HardenedContainerProps, 'config'> = {
          name: r.name,
          image: r.image as HardenedContainerProps['image'],
          ...(r.command ? { command: r.command } : {}),
          ...(r.args ? { args: r.args } : {}),
          ...(r.workingDir ? { workingDir: r.workingDir } : {}),
          ...(ports.length ? { ports } : {}),
          ...(Object.keys(r.env).length ? { env: r.env } : {}),
          ...(Object.keys(resources).length ? { resources } : {}),
          ...(writablePaths.length ? { writablePaths } : {}),
          ...(pr ? { probes: pr } : {}),
          ...(r.netBindService ? { netBindService: true } : {}),
        };
        return { props, configs: r.configs };
      }
    });
}

/** Random valid HardenedDeployment props with their EnvConfigs. */
export function validDeploymentCase(opts: { namespace?: string } = {}): fc.Arbitrary<DeploymentCase> {
  return fc
    .record({
      name: label('', 30),
      namespace: opts.namespace !== undefined ? fc.constant(opts.namespace) : fc.option(label('ns-', 12), { nil: undefined }),
      replicas: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
      labels: fc.option(labels, { nil: undefined }),
      annotations: fc.option(annotations, { nil: undefined }),
      runAsUser: fc.option(fc.integer({ min: 10000, max: 2 ** 31 - 1 }), { nil: undefined }),
      runAsGroup: fc.option(fc.integer({ min: 10000, max: 2 ** 31 - 1 }), { nil: undefined }),
      containerCount: fc.integer({ min: 1, max: 3 }),
      initCount: fc.integer({ min: 0, max: 1 }),
      configNames: fc.uniqueArray(label('cfg-', 10), { maxLength: 2 }),
      configBodies: fc.array(ENV_CONFIG_BODY, { minLength: 2, maxLength: 2 }),
    })
    .chain((d) => {
      const envConfigs = d.configNames.map((n, i) => d.configBodies[i]!(n, d.namespace));
      const containers = fc.tuple(...[...Array(d.containerCount).keys()].map((i) => containerArb(i, false, d.configNames.length)));
      const inits = fc.tuple(...[...Array(d.initCount).keys()].map((i) => containerArb(i, true, d.configNames.length)));
      return fc.tuple(containers, inits).filter(([cs, is]) => {
        const names = [...cs, ...is].map((c) => c.props.name);
        return new Set(names).size === names.length;
      }).map(([containers, initContainers]): DeploymentCase => ({
        envConfigs,
        containers,
        initContainers,
        deployment: {
          name: d.name,
          ...(d.namespace ? { namespace: d.namespace } : {}),
          ...(d.replicas !== undefined ? { replicas: d.replicas } : {}),
          ...(d.labels ? { labels: d.labels } : {}),
          ...(d.annotations ? { annotations: d.annotations } : {}),
          ...(d.runAsUser !== undefined ? { runAsUser: nonRootId(d.runAsUser) } : {}),
          ...(d.runAsGroup !== undefined ? { runAsGroup: nonRootId(d.runAsGroup) } : {}),
        },
      }));
    });
}

/** The case's props, with each container's EnvConfigs attached (built by `envConfig`). */
export function deploymentProps(c: DeploymentCase): HardenedDeploymentProps {
  const configs = c.envConfigs.map((p) => envConfig(p));
  const attach = (x: ContainerCase): HardenedContainerProps => ({
    ...x.props,
    ...(x.configs.length ? { config: x.configs.map((i) => configs[i]!) } : {}),
  });
  return {
    ...c.deployment,
    containers: c.containers.map(attach),
    ...(c.initContainers.length ? { initContainers: c.initContainers.map(attach) } : {}),
  };
}

/** Bytes of disk-backed emptyDir a container may fill (for the PROP005 property). */
export function scratchBytes(c: HardenedContainerProps): number {
  const paths = c.writablePaths ?? [];
  const tmp = paths.some((w) => w.path === '/tmp') ? 0 : 64 * MI;
  return tmp + paths.reduce((a, w) => a + ('sizeLimit' in w && w.medium !== 'Memory' ? Number(/^(\d+)Mi$/.exec(w.sizeLimit)![1]) * MI : 0), 0);
}

// ------------------------------------------------------------------ mutations that break one rule

type Mutable = { -readonly [K in keyof HardenedDeploymentProps]: any } & Record<string, any>;

/** One way to break one rule: the rule id the refusal must name, and the change. */
export interface Mutation {
  readonly rule: string;
  readonly what: string;
  /** Changes a deep copy of valid props; `pick` chooses among containers and values. */
  apply(props: Mutable, pick: number): void;
}

const containerOf = (p: Mutable, pick: number) => p.containers[pick % p.containers.length];
const SECRET_ENV_NAMES = ['DB_PASSWORD', 'API_TOKEN', 'CLIENT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'SENTRY_DSN', 'APP_API_KEY', 'REDIS_PASS'];
const PEM = (n: number) => `-----BEGIN ${['', 'RSA ', 'EC ', 'ENCRYPTED '][n % 4]}PRIVATE KEY-----\nMIIB${'A'.repeat(8 + (n % 16))}\n-----END PRIVATE KEY-----\n`;

export const DEPLOYMENT_MUTATIONS: readonly Mutation[] = [
  { rule: 'HD006', what: 'privileged: true on a container', apply: (p, n) => { containerOf(p, n).privileged = true; } },
  { rule: 'HD005', what: 'allowPrivilegeEscalation: true', apply: (p, n) => { containerOf(p, n).allowPrivilegeEscalation = true; } },
  { rule: 'HD004', what: 'readOnlyRootFilesystem: false (writable root filesystem)', apply: (p, n) => { containerOf(p, n).readOnlyRootFilesystem = false; } },
  { rule: 'HD001', what: 'a securityContext of its own (runAsUser 0)', apply: (p, n) => { containerOf(p, n).securityContext = { runAsUser: 0 }; } },
  { rule: 'HD001', what: 'runAsNonRoot: false', apply: (p, n) => { containerOf(p, n).runAsNonRoot = false; } },
  { rule: 'HD002', what: 'runAsUser below 10000 (root or a system ID)', apply: (p, n) => { p.runAsUser = n % 10000; } },
  { rule: 'HD002', what: 'runAsGroup below 10000', apply: (p, n) => { p.runAsGroup = n % 10000; } },
  { rule: 'HD007', what: 'capabilities.add', apply: (p, n) => { containerOf(p, n).capabilities = { add: [['SYS_ADMIN', 'NET_ADMIN', 'NET_RAW', 'SYS_PTRACE'][n % 4]] }; } },
  { rule: 'HD008', what: 'seccompProfile Unconfined', apply: (p, n) => { containerOf(p, n).seccompProfile = { type: 'Unconfined' }; } },
  { rule: 'HD010', what: 'a hostPath volume', apply: (p, n) => { containerOf(p, n).hostPath = { path: '/var/run/docker.sock' }; } },
  { rule: 'HD009', what: 'hostNetwork/hostPID/hostIPC', apply: (p, n) => { p[['hostNetwork', 'hostPID', 'hostIPC'][n % 3]!] = true; } },
  { rule: 'HD011', what: 'a hostPort', apply: (p, n) => { const c = containerOf(p, n); c.ports = [...(c.ports ?? []), { containerPort: 65000, hostPort: 8080 + (n % 100) }]; } },
  { rule: 'HD012', what: 'raw volumes', apply: (p) => { p.volumes = [{ name: 'x', nfs: { server: 'nfs', path: '/' } }]; } },
  { rule: 'HD015', what: 'automountServiceAccountToken: true', apply: (p) => { p.automountServiceAccountToken = true; } },
  { rule: 'HD017', what: 'envFrom a Secret', apply: (p, n) => { containerOf(p, n).envFrom = [{ secretRef: { name: 'db' } }]; } },
  {
    rule: 'HD003', what: 'an image pinned by tag only (or not at all)',
    apply: (p, n) => { containerOf(p, n).image = ['nginx:1.25', 'ghcr.io/acme/app:latest', 'postgres', '127.0.0.1:5000/app:v1', `app@sha256:${'a'.repeat(10)}`][n % 5]; },
  },
  { rule: 'HD018', what: 'a literal env value under a secret-looking name', apply: (p, n) => { const c = containerOf(p, n); c.env = { ...c.env, [SECRET_ENV_NAMES[n % SECRET_ENV_NAMES.length]!]: `v${n}` }; } },
  {
    rule: 'HD018', what: 'a literal env value that holds a private key or a URL with a password',
    apply: (p, n) => { const c = containerOf(p, n); c.env = { ...c.env, SAFE_NAME_VALUE: n % 2 ? PEM(n) : `postgres://app:s3cr${n}t@db:5432/app` }; },
  },
  {
    rule: 'PROP005', what: 'an emptyDir larger than the ephemeral-storage limit',
    apply: (p, n) => {
      const c = containerOf(p, n);
      const limitMi = c.resources?.ephemeralStorage ? Number(/^(\d+)Mi$/.exec(c.resources.ephemeralStorage.limit)![1]) : 1024;
      c.writablePaths = [...(c.writablePaths ?? []), { path: '/var/huge', sizeLimit: `${limitMi + 1 + (n % 1000)}Mi` }];
    },
  },
  {
    rule: 'HD007', what: 'netBindService without a port below 1024',
    apply: (p, n) => {
      const c = containerOf(p, n);
      const ports = (c.ports ?? []).filter((x: { containerPort: number }) => x.containerPort >= 1024);
      c.ports = ports.length ? ports : undefined;
      if (!c.ports) delete c.ports;
      c.probes = { readiness: { tcp: { port: 8080 } }, liveness: { tcp: { port: 8080 } } };
      c.netBindService = true;
    },
  },
  { rule: 'HD016', what: 'a shell command', apply: (p, n) => { containerOf(p, n).command = [['sh', '/bin/sh', '/bin/bash', 'busybox'][n % 4], '-c', 'exec /app/server']; } },
  {
    rule: 'HD016', what: 'a probe that runs a shell',
    apply: (p, n) => { const c = containerOf(p, n); c.probes = { readiness: { exec: { command: ['/bin/sh', '-c', 'true'] } }, liveness: { tcp: { port: 8080 } } }; },
  },
  {
    rule: 'HD019', what: 'a long-running container with neither ports nor probes',
    apply: (p, n) => { const c = containerOf(p, n); delete c.ports; delete c.probes; delete c.netBindService; },
  },
  {
    rule: 'HD019', what: 'a readiness probe without a liveness probe',
    apply: (p, n) => { containerOf(p, n).probes = { readiness: { tcp: { port: 8080 } } }; },
  },
];

/** EnvConfig props changes that break one rule. */
export const ENV_CONFIG_MUTATIONS: readonly { rule: string; what: string; apply(p: Record<string, any>, pick: number): void }[] = [
  { rule: 'HD031', what: 'a secret-looking data key', apply: (p, n) => { p.data = { ...p.data, [['db_password', 'api-key', 'client.secret', 'auth_token', 'private-key'][n % 5]!]: 'x' }; } },
  { rule: 'HD031', what: 'a private key in data', apply: (p, n) => { p.data = { ...p.data, 'tls.pem': PEM(n) }; } },
  { rule: 'HD031', what: 'a URL with a password in data', apply: (p, n) => { p.data = { ...p.data, upstream: `https://user:pw${n}@example.com/` }; } },
  { rule: 'HD031', what: 'a config file assigning a secret-looking name', apply: (p, n) => { p.data = { ...p.data, 'app.env': `LOG_LEVEL=info\n${['DB_PASSWORD', 'export API_TOKEN', 'secret_key'][n % 3]}=abc${n}\n` }; } },
  { rule: 'PROP003', what: 'a fileMounts key that is not in data', apply: (p) => { p.fileMounts = { ...p.fileMounts, 'missing.conf': '/etc/missing.conf' }; } },
  { rule: 'PROP003', what: 'an envKeys key that is not in data', apply: (p) => { p.envKeys = { ...p.envKeys, MISSING_KEY_ENV: 'missing.key' }; } },
];
