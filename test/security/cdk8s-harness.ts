/**
 * Runs an attack on the cdk8s face through every guard a cdk8s user meets, and asserts which one
 * refuses it and with which rule:
 *
 * - `types`: tsc refuses the attack (the attack's source carries a `@ts-expect-error`, so
 *   `npm test`'s type check fails if it ever compiles), and a JavaScript caller that skips the
 *   types is refused at construction with the rule id;
 * - `construct`: the construct's constructor throws a CleanimgError naming the rule;
 * - `synth`: construction succeeds (an escape hatch, a raw object, a patch), and then
 *   HardenedApp's synth refuses writing nothing, the `cdk8s synth` validation plugin refuses the same
 *   objects written by a plain App (and removes them), and `cleanimg-customize check` refuses them;
 * - `written`: the library writes the manifest, neutralized (e.g. an odd character quoted so that
 *   Go reads it as a string); `verify` asserts what was written. The end-to-end tier judges every
 *   such manifest with the upstream Pod Security evaluator.
 */
import { App, Chart, type AppProps } from 'cdk8s';
import { ValidationContext } from 'cdk8s-cli/plugins';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Category } from './attacks/common';
import { parseAllDocuments } from 'yaml';
import { checkFiles } from '../../src/cli/commands/check';
import { HardenedApp, HardeningValidation } from '../../src/cdk8s';
import { CleanimgError } from '../../src/errors';
import type { KubeObject } from '../../src/rules';

export type Cdk8sStage = 'types' | 'construct' | 'synth' | 'written';

export interface Cdk8sAttack {
  /** What the attacker tries, in a few words. */
  readonly name: string;
  readonly category: Category;
  /** What it targets: a workload kind, `EnvConfig`, `Namespace`, `App` or `raw` (an object beside the library's). */
  readonly target: string;
  /** The first guard that refuses it (or `written` when the library writes it neutralized). */
  readonly stage: Cdk8sStage;
  /** The rule or prop id that refuses it (for `written`, the rule whose guarantee the output keeps). */
  readonly rule: string;
  /** The attack, as a user would write it, in a fresh chart of a fresh app. */
  readonly build: (chart: Chart) => void;
  /** For `written`: what the written objects and text must show. */
  readonly verify?: (objects: KubeObject[], yaml: string) => void;
  /** App props for both the guarded and the plain app (e.g. an output layout). */
  readonly appProps?: Omit<AppProps, 'outdir'>;
  /**
   * For `synth`: the rule the file-reading guards (synth plugin, `check`) name, when it differs from
   * HardenedApp's (they see only what a plain App wrote, not when it was made); `null` when a plain
   * App never writes the object (it is made by a validation run that only HardenedApp's synth makes),
   * so only HardenedApp's refusal is asserted. @default rule
   */
  readonly fileRule?: string | null;
}

/** The manifests an attack gives: what the library wrote, or what a plain App with no guard writes. */
export interface AttackOutput {
  readonly attack: string;
  /** `written`: HardenedApp wrote it; `unguarded`: a plain App with no plugin wrote it (the guards refused it). */
  readonly source: 'written' | 'unguarded';
  readonly rule: string;
  readonly category: Category;
  readonly yaml: string;
}

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `cleanimg-attack-${prefix}-`));

/** Problem codes of a CleanimgError thrown by `fn`, or undefined when it does not throw. */
function refusal(fn: () => unknown): readonly string[] | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof CleanimgError)) throw e;
    expect(e.message).not.toMatch(/\n\s+at /); // people read it: no stack trace in the message
    return e.problems.map((p) => p.code);
  }
}

/** The manifests under `dir`, in every folder (cdk8s can write a folder per chart). */
function manifestsIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? manifestsIn(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []));
}

/** The validation plugin's run with cdk8s-cli's own ValidationContext, as `cdk8s synth` runs it. */
async function pluginVerdict(manifests: string[]): Promise<{ success: boolean; rules: string[] }> {
  const context = new ValidationContext(manifests, 'cleanimg', '0.1.0');
  await new HardeningValidation().validate(context as never);
  const violations = context.report.toJson().violations as readonly { ruleName: string }[];
  return { success: context.report.success, rules: violations.map((v) => v.ruleName.split(' ')[0]!) };
}

/** Builds the attack in a plain App (no guard) and returns the directory it wrote. */
function unguardedDir(a: Cdk8sAttack): string {
  const dir = tmp('plain');
  const app = new App({ ...a.appProps, outdir: dir });
  a.build(new Chart(app, 'attack'));
  app.synth();
  return dir;
}

/** What a plain App with no guard writes for the attack (for attacks refused at synth). */
export function unguardedYaml(a: Cdk8sAttack): string {
  return manifestsIn(unguardedDir(a)).map((f) => readFileSync(f, 'utf8')).join('---\n');
}

/** Runs the attack through every guard and asserts the stage and rule; returns what was written, if anything. */
export async function runCdk8sAttack(a: Cdk8sAttack): Promise<AttackOutput | undefined> {
  const outdir = tmp('app');
  const app = new HardenedApp({ ...a.appProps, outdir });
  const built = refusal(() => a.build(new Chart(app, 'attack')));
  if (a.stage === 'types' || a.stage === 'construct') {
    expect(built, `${a.name}: refused at construction`).toContain(a.rule);
    return undefined;
  }
  expect(built, `${a.name}: constructs`).toBeUndefined();
  const synth = refusal(() => app.synth());
  if (a.stage === 'written') {
    expect(synth, `${a.name}: HardenedApp writes it`).toBeUndefined();
    const files = manifestsIn(outdir);
    const yaml = files.map((f) => readFileSync(f, 'utf8')).join('---\n');
    const objects = files.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as KubeObject));
    a.verify?.(objects, yaml);
    expect(checkFiles([outdir]).violations.map((v) => v.code), `${a.name}: check accepts what was written`).toEqual([]);
    return { attack: a.name, source: 'written', rule: a.rule, category: a.category, yaml };
  }
  expect(synth, `${a.name}: HardenedApp refuses`).toContain(a.rule);
  expect(manifestsIn(outdir), `${a.name}: nothing written`).toEqual([]);
  if (a.fileRule === null) return undefined;
  const plain = unguardedDir(a);
  const copy = tmp('check');
  cpSync(plain, copy, { recursive: true });
  const fileRule = a.fileRule ?? a.rule;
  expect(checkFiles([copy]).violations.map((v) => v.code), `${a.name}: check refuses`).toContain(fileRule);
  const plugin = await pluginVerdict(manifestsIn(plain));
  expect(plugin.success, `${a.name}: the synth plugin fails`).toBe(false);
  expect(plugin.rules, `${a.name}: the synth plugin names the rule`).toContain(fileRule);
  expect(manifestsIn(plain), `${a.name}: the plugin removed the manifests`).toEqual([]);
  return { attack: a.name, source: 'unguarded', rule: a.rule, category: a.category, yaml: manifestsIn(copy).map((f) => readFileSync(f, 'utf8')).join('---\n') };
}
