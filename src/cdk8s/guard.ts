import { ApiObject, App, type AppProps } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { formatProblem } from '../errors';
import { checkObjects, type KubeObject, type Violation } from '../rules';

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
  scope.node.addValidation({ validate: () => violationsIn(scope).map((v) => `${v.object} ${formatProblem(v)}`) });
}

/** A cdk8s App whose synth fails, writing nothing, when any object breaks a hardening rule. */
export class HardenedApp extends App {
  constructor(props?: AppProps) {
    super(props);
    enforceHardening(this);
  }
}

/**
 * Builds and synthesizes a HardenedApp; on any error prints the message (every broken rule, no
 * stack trace unless CLEANIMG_DEBUG is set) and exits with status 1, having written no manifest.
 */
export function runApp(build: (app: HardenedApp) => void, props?: AppProps): void {
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
