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
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { count } from '../cli/output';
import { RULES, type Violation } from '../rules';
import { checkManifestFile, isManifestName, walkFiles } from '../rules/manifest-file';

/** The subset of cdk8s-cli's ValidationContext this plugin uses (cdk8s-cli is not a runtime dependency). */
export interface ValidationContextLike {
  readonly manifests: readonly string[];
  readonly stdout?: boolean;
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
  /**
   * The folder `cdk8s synth` writes to. @default what cdk8s-cli uses: `--output`/`-o`, else
   * cdk8s.yaml's `output`, else `dist`
   */
  readonly outputDirectory?: string;
}

type Resource = { resourceName: string; locations: string[]; manifestPath: string };

export class HardeningValidation {
  constructor(private readonly props: HardeningValidationProperties = {}) {}

  async validate(context: ValidationContextLike): Promise<void> {
    // cdk8s-cli hands over only the files whose name ends in .yaml; kubectl applies .yml and .json
    // too, so every manifest in the output folder is read, whatever wrote it.
    const files = manifestsToCheck(context.manifests, context.stdout ? undefined : this.props.outputDirectory ?? synthOutputDir());
    const byRule = new Map<string, Resource[]>();
    let objects = 0;
    let passed = false;
    // What kubectl would apply: the files given, and those holding an object or a finding (not an OCI
    // layout's index.json). Until every file has been read, that is every file found.
    let applicable: readonly string[] = files;
    try {
      const read = new Set(context.manifests.map((m) => resolve(m)));
      for (const file of files) {
        let report;
        try {
          report = checkManifestFile(file, { textVersion: '1.1' }); // cdk8s writes YAML 1.1 (its writer quotes by that schema)
        } catch (e) {
          report = { objects: 0, violations: [unreadableFile(file, e as Error)] };
        }
        objects += report.objects;
        for (const v of report.violations) addTo(byRule, v, file);
        if (report.objects > 0 || report.violations.length > 0) read.add(file);
      }
      applicable = [...read];
      for (const rule of RULES) {
        const resources = byRule.get(rule.id);
        if (resources) context.report.addViolation({ ruleName: `${rule.id} ${rule.title}`, recommendation: rule.title, fix: rule.fix, violatingResources: resources });
      }
      passed = byRule.size === 0;
      context.logger.log(`cleanimg: ${count(objects, 'object')} in ${count(files.length, 'file')} checked against ${RULES.length} rules, ${passed ? 'no violations' : 'violations found'}`);
    } finally {
      // Whatever stopped the check (a finding, a file it cannot read, an error of its own), nothing unchecked stays to apply.
      if (!passed && !this.props.keepFailedManifests) {
        for (const m of applicable) rmSync(m, { force: true });
        context.logger.log('cleanimg: removed the synthesized manifests so that nothing insecure is left to apply');
      }
      removeConstructMetadata(files);
    }
    context.report.submit(passed ? 'success' : 'failure');
  }
}

function addTo(byRule: Map<string, Resource[]>, v: Violation, manifestPath: string): void {
  const list = byRule.get(v.code) ?? [];
  let entry = list.find((r) => r.resourceName === v.object && r.manifestPath === manifestPath);
  if (!entry) list.push((entry = { resourceName: v.object, locations: [], manifestPath }));
  const general = RULES.find((r) => r.id === v.code)?.fix;
  entry.locations.push(`${v.path}: ${v.message}${v.fix && v.fix !== general ? ` — ${v.fix}` : ''}`);
  byRule.set(v.code, list);
}

/** A file the guards cannot read is refused: nothing that was not checked may be applied. */
function unreadableFile(file: string, e: Error): Violation {
  const detail = (e as { problems?: { message: string }[] }).problems?.[0]?.message ?? e.message;
  return {
    code: 'HD034', title: 'every object is visible to the guards', object: basename(file), path: file,
    message: `the guards cannot read this file: ${detail}`, fix: 'write manifests as valid YAML or JSON',
  };
}

/**
 * The given manifests and every manifest file (.yaml, .yml, .json) in the folders they are in and in
 * `outdir`, each once, sorted.
 */
export function manifestsToCheck(given: readonly string[], outdir?: string): string[] {
  const roots = [...new Set([...given.map((m) => dirname(m)), ...(outdir && existsSync(outdir) ? [outdir] : [])])];
  const found = walkFiles(roots, isManifestName);
  return [...new Set([...given, ...found].map((f) => resolve(f)))].sort();
}

/**
 * The folder cdk8s-cli's synth writes to, decided as cdk8s-cli decides it: `--output DIR` (`-o`),
 * else cdk8s.yaml's `output`, else `dist`. Undefined when this process is not `cdk8s synth`, or
 * writes to standard output (`--stdout`/`-p`: only the .yaml files it is given are printed).
 */
export function synthOutputDir(argv: readonly string[] = process.argv, cwd: string = process.cwd()): string | undefined {
  const args = argv.slice(2);
  if (!/(^|[/\\])cdk8s(\.js)?$/.test(argv[1] ?? '') || !args.some((a) => a === 'synth' || a === 'synthesize')) return undefined;
  if (args.some((a) => a === '--stdout' || a === '-p' || a === '--stdout=true')) return undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^(?:--output|-o)=(.+)$/.exec(a);
    if (m) return resolve(cwd, m[1]!);
    if ((a === '--output' || a === '-o') && args[i + 1]) return resolve(cwd, args[i + 1]!);
  }
  try {
    const output = (parse(readFileSync(join(cwd, 'cdk8s.yaml'), 'utf8')) as { output?: unknown } | null)?.output;
    return resolve(cwd, typeof output === 'string' && output ? output : 'dist');
  } catch {
    return resolve(cwd, 'dist');
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
