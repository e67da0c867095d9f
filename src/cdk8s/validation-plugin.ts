/**
 * The cdk8s synth validation plugin: `cdk8s synth` runs it over every written manifest, so an app
 * that does not use HardenedApp (or a manifest brought in with `Include`) is still checked.
 *
 * cdk8s.yaml:
 * ```yaml
 * validations:
 *   - package: ./node_modules/cleanimg/lib/cdk8s/validation-plugin.js
 *     class: HardeningValidation
 *     version: 0.1.0
 * ```
 * cdk8s writes manifests before plugins run; on failure this plugin deletes the manifests it
 * checked (unless `keepFailedManifests: true`), so a failing synth leaves nothing to apply. It also
 * removes the `construct-metadata.json` cdk8s-cli leaves beside them (read by cdk8s-cli before any
 * plugin runs), so `kubectl apply -f dist/` reads manifests only.
 *
 * It checks the text of each manifest as well as its objects: cdk8s's own writer leaves characters
 * that Go's YAML reads differently from the JS parser (a raw U+2028 is a line break to Go) as they
 * are, so an app that does not write with HardenedApp fails here with HD033 and the line.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { count } from '../cli/output';
import { checkObject, goYamlTextViolations, RULES, type KubeObject, type Violation } from '../rules';

/** The subset of cdk8s-cli's ValidationContext this plugin uses (cdk8s-cli is not a runtime dependency). */
export interface ValidationContextLike {
  readonly manifests: readonly string[];
  parseManifest(path: string): unknown[];
  readonly report: {
    addViolation(v: {
      ruleName: string;
      recommendation: string;
      fix: string;
      violatingResources: { resourceName: string; locations: string[]; manifestPath: string }[];
    }): void;
    submit(status: 'success' | 'failure', metadata?: Record<string, string>): void;
  };
  readonly logger: { log(message: string): void };
}

export interface HardeningValidationProperties {
  /** Keep manifests on disk when validation fails. @default false */
  readonly keepFailedManifests?: boolean;
}

export class HardeningValidation {
  constructor(private readonly props: HardeningValidationProperties = {}) {}

  async validate(context: ValidationContextLike): Promise<void> {
    const byRule = new Map<string, { resourceName: string; locations: string[]; manifestPath: string }[]>();
    let objects = 0;
    const add = (v: Violation, manifestPath: string) => {
      const list = byRule.get(v.code) ?? [];
      let entry = list.find((r) => r.resourceName === v.object && r.manifestPath === manifestPath);
      if (!entry) list.push((entry = { resourceName: v.object, locations: [], manifestPath }));
      const general = RULES.find((r) => r.id === v.code)?.fix;
      entry.locations.push(`${v.path}: ${v.message}${v.fix && v.fix !== general ? ` — ${v.fix}` : ''}`);
      byRule.set(v.code, list);
    };
    for (const manifestPath of context.manifests) {
      // cdk8s writes YAML 1.1 (its writer quotes by that schema).
      for (const v of goYamlTextViolations(readFileSync(manifestPath), manifestPath, { version: '1.1' })) add(v, manifestPath);
      for (const doc of context.parseManifest(manifestPath)) {
        if (!doc || typeof doc !== 'object') continue;
        objects++;
        for (const v of checkObject(doc as KubeObject)) add(v, manifestPath);
      }
    }
    for (const rule of RULES) {
      const resources = byRule.get(rule.id);
      if (resources) context.report.addViolation({ ruleName: `${rule.id} ${rule.title}`, recommendation: rule.title, fix: rule.fix, violatingResources: resources });
    }
    const failed = byRule.size > 0;
    context.logger.log(`cleanimg: ${count(objects, 'object')} checked against ${RULES.length} rules, ${failed ? 'violations found' : 'no violations'}`);
    if (failed && !this.props.keepFailedManifests) {
      for (const m of context.manifests) rmSync(m, { force: true });
      context.logger.log('cleanimg: removed the synthesized manifests so that nothing insecure is left to apply');
    }
    removeConstructMetadata(context.manifests);
    context.report.submit(failed ? 'failure' : 'success');
  }
}

/**
 * cdk8s-cli writes `construct-metadata.json` beside the manifests when a validation plugin is
 * configured, and reads it before any plugin runs. `kubectl apply -f dist/` would read it as a
 * manifest and fail ("apiVersion not set, kind not set"), so once it has been read it goes.
 */
function removeConstructMetadata(manifests: readonly string[]): void {
  for (const dir of new Set(manifests.map((m) => dirname(m)))) rmSync(join(dir, 'construct-metadata.json'), { force: true });
}
