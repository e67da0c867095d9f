import { ApiObject, App, type AppProps } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { CleanimgError, formatProblem, type Problem } from '../errors';
import { sortForApply } from '../core/apply-order';
import { assertNoViolations, checkObjects, type KubeObject, type Violation } from '../rules';
import { deepFreeze, pinApiObjects, writeOnlyChecked } from './checked-write';
import { withFastYaml } from './yaml-writer';

/** Every rule violation among the objects under `scope`, after JSON patches are applied. */
export function violationsIn(scope: IConstruct): Violation[] {
  const objects = scope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson() as KubeObject);
  return checkObjects(objects);
}

/**
 * Runs the rule list over every object of `scope` when the app synthesizes, before anything is
 * written: plain ApiObjects written by hand, cdk8s-plus resources and `addJsonPatch` escapes included.
 */
export function enforceHardening(scope: IConstruct): void {
  scope.node.addValidation({ validate: () => violationLines(violationsIn(scope)) });
}

/** Lines for an error: `Kind/ns/name HDxxx /path: message — fix`. */
function violationLines(violations: readonly Violation[]): string[] {
  return violations.map((v) => `${v.object} ${formatProblem(v)}`);
}

export interface HardenedAppProps extends AppProps {
  /**
   * Which YAML writer writes the manifests: `fast` prints common documents directly, byte for byte
   * what cdk8s's writer prints (and hands every other document to cdk8s's writer); `cdk8s` uses
   * cdk8s's writer for every document. Either way, strings Go's YAML reader reads differently (ones
   * it takes for numbers such as `0o17`, and ones holding U+2028, NEL or control characters) are
   * double-quoted with escapes, so kubectl and the API server read exactly the objects the rules
   * judged. @default 'fast'
   */
  readonly yamlWriter?: 'fast' | 'cdk8s';
}

/**
 * A cdk8s App whose synth fails, writing nothing, when any object breaks a hardening rule.
 *
 * It resolves each object once: the rules run over exactly the objects that are then written (JSON
 * patches applied), frozen, and cdk8s writes them without resolving again; a document the check never
 * saw (made during synth) refuses the whole write (see checked-write.ts). Each chart's objects are written
 * in an order that `kubectl apply -f dist/` accepts in one go on an empty cluster (Namespace and its
 * guards first, then identities, config and storage, Services, workloads, autoscalers and routes;
 * custom resources last), whatever order they were created in.
 */
export class HardenedApp extends App {
  private readonly yamlWriter: 'fast' | 'cdk8s';

  constructor(props: HardenedAppProps = {}) {
    const { yamlWriter, ...appProps } = props;
    super(appProps);
    this.yamlWriter = yamlWriter ?? 'fast';
  }

  override synth(): void {
    this.withCheckedCharts(() => super.synth());
  }

  override synthYaml(): string {
    return this.withCheckedCharts(() => super.synthYaml());
  }

  private withCheckedCharts<T>(write: () => T): T {
    const charts = this.charts;
    // Each object resolved once; the rules judge those results and the writer gets the same, frozen.
    const pins = pinApiObjects(this);
    try {
      // Each chart's objects in an order `kubectl apply -f` accepts in one go (Namespace first, ...).
      const resolved = charts.map((c) => deepFreeze(sortForApply(c.toJson())));
      assertNoViolations(checkObjects(resolved.flat() as KubeObject[]), 'the app (nothing was written)');
      // The namespaces' own guards, as built: a renamed or removed guard is invisible to the object rules.
      const guards = this.node.findAll().flatMap((c) => (typeof (c as { guardProblems?: unknown }).guardProblems === 'function' ? (c as unknown as { guardProblems(): Problem[] }).guardProblems() : []));
      if (guards.length) throw new CleanimgError(`the app (nothing was written) breaks ${guards.length} hardening rule${guards.length === 1 ? '' : 's'}:`, guards);
      charts.forEach((c, i) => Object.defineProperty(c, 'toJson', { value: () => resolved[i], configurable: true }));
      try {
        return withFastYaml(() => writeOnlyChecked(new Set(resolved.flat()), write, () => pins.assertNoneAdded()), { fast: this.yamlWriter === 'fast' });
      } finally {
        for (const c of charts) delete (c as { toJson?: unknown }).toJson;
      }
    } finally {
      pins.unpin();
    }
  }
}

/**
 * Builds and synthesizes a HardenedApp; on any error prints the message (every broken rule, no
 * stack trace unless CLEANIMG_DEBUG is set) and exits with status 1, having written no manifest.
 */
export function runApp(build: (app: HardenedApp) => void, props?: HardenedAppProps): void {
  try {
    const app = new HardenedApp(props);
    build(app);
    app.synth();
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`${process.env.CLEANIMG_DEBUG ? err.stack : err.message}\n`);
    process.exitCode = 1;
  }
}
