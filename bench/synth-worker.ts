/**
 * One synth measurement in a fresh process: builds N workloads of one variant, calls synthYaml(),
 * prints {ms, rssMiB} as JSON. Run by bench/synth.ts.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
// The compiled library, as users run it (npm run build first; bench/synth.ts does).
import { EnvConfig, HardenedApp, HardenedDeployment } from '../lib/cdk8s';
import { envConfig, hardenedDeployment } from '../lib/core';
import { mixedCleanimg, mixedObjectsJson, mixedPlus, mixedSame } from './synth-mixed';

const [variant, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 1000);
const digest = `sha256:${'ab'.repeat(32)}` as `sha256:${string}`;

function hardened(app: App) {
  const chart = new Chart(app, 'bench');
  for (let i = 0; i < count; i++) {
    const cfg = new EnvConfig(chart, `cfg${i}`, { name: `app${i}`, data: { 'app.env': `INDEX=${i}\nLOG_LEVEL=info\n` }, mountPath: '/etc/app' });
    new HardenedDeployment(chart, `app${i}`, {
      name: `app${i}`,
      containers: [{ name: 'app', image: `registry.example.com/app${i}@${digest}`, ports: [{ containerPort: 8080 }], config: [cfg] }],
    });
  }
}

function plus(app: App) {
  const chart = new Chart(app, 'bench');
  for (let i = 0; i < count; i++) {
    const cm = new kplus.ConfigMap(chart, `cfg${i}`, { data: { 'app.env': `INDEX=${i}\nLOG_LEVEL=info\n` } });
    const d = new kplus.Deployment(chart, `app${i}`, { containers: [{ image: `registry.example.com/app${i}@${digest}`, portNumber: 8080 }] });
    d.containers[0]!.mount('/etc/app', kplus.Volume.fromConfigMap(chart, `vol${i}`, cm));
  }
}

function plain(app: App) {
  const chart = new Chart(app, 'bench');
  for (let i = 0; i < count; i++) {
    new ApiObject(chart, `cfg${i}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `app${i}` }, data: { 'app.env': `INDEX=${i}\nLOG_LEVEL=info\n` } });
    new ApiObject(chart, `app${i}`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `app${i}` },
      spec: {
        selector: { matchLabels: { app: `app${i}` } },
        template: {
          metadata: { labels: { app: `app${i}` } },
          spec: {
            containers: [{ name: 'app', image: `registry.example.com/app${i}@${digest}`, ports: [{ containerPort: 8080 }], volumeMounts: [{ name: 'cfg', mountPath: '/etc/app' }] }],
            volumes: [{ name: 'cfg', configMap: { name: `app${i}` } }],
          },
        },
      },
    });
  }
}

/** The same hardened objects written by hand as plain ApiObjects (precomputed outside the timed part): the cost of our abstraction. */
const handWritten = variant === 'apiobject-same' ? Array.from({ length: count }, (_, i) => {
  const cfg = envConfig({ name: `app${i}`, data: { 'app.env': `INDEX=${i}\nLOG_LEVEL=info\n` }, mountPath: '/etc/app' });
  const d = hardenedDeployment({ name: `app${i}`, containers: [{ name: 'app', image: `registry.example.com/app${i}@${digest}` as never, ports: [{ containerPort: 8080 }], config: [cfg] }] });
  return JSON.stringify([cfg.configMap, ...d.objects]);
}) : [];

function same(app: App) {
  const chart = new Chart(app, 'bench');
  handWritten.forEach((text, i) => {
    (JSON.parse(text) as object[]).forEach((o, j) => new ApiObject(chart, `o${i}-${j}`, o as never));
  });
}

/** The mixed apps' plain objects, serialized outside the timed part (as for apiobject-same). */
const mixedJson = variant === 'mixed-apiobject-same' ? mixedObjectsJson(count) : [];

const start = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
// `cleanimg-cdk8s-yaml` is cleanimg with cdk8s's own YAML writer for every document (what HardenedApp did before its writer).
const app = variant === 'cleanimg' || variant === 'mixed-cleanimg' ? new HardenedApp({ outdir: '/nonexistent-not-written' })
  : variant === 'cleanimg-cdk8s-yaml' ? new HardenedApp({ outdir: '/nonexistent-not-written', yamlWriter: 'cdk8s' })
  : new App({ outdir: '/nonexistent-not-written' });
({
  cleanimg: hardened, 'cleanimg-cdk8s-yaml': hardened, 'cdk8s-plus-28': plus, apiobject: plain, 'apiobject-same': same,
  'mixed-cleanimg': (a: App) => mixedCleanimg(new Chart(a, 'bench'), count),
  'mixed-cdk8s-plus-28': (a: App) => mixedPlus(new Chart(a, 'bench'), count),
  'mixed-apiobject-same': (a: App) => mixedSame(new Chart(a, 'bench'), mixedJson),
} as Record<string, (a: App) => void>)[variant!]!(app);
const yaml = app.synthYaml();
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const cpu = process.cpuUsage(cpu0);
const objects = yaml.split(/^---$/m).length;
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: process.resourceUsage().maxRSS / 1024, bytes: Buffer.byteLength(yaml), objects }));
