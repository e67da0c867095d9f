import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../src/errors';
import { copyPaths, expand, parseDockerfile } from '../../src/dockerfile';
import { BASE, BUILDER } from './helpers';

describe('parseDockerfile', () => {
  it('reads stages, names, ARG before FROM, line continuations and heredocs with 1-based lines', () => {
    const df = parseDockerfile([
      `ARG BUILDER=${BUILDER}`, // 1
      'FROM ${BUILDER} AS Build', // 2
      'RUN go build \\', // 3
      '    -o /out/app .', // 4
      'COPY <<EOF /etc/app.conf', // 5
      'key = value', // 6
      'EOF', // 7
      `FROM ${BASE}`, // 8
      'COPY --from=build --chown=65532:65532 ["/out/app", "/app/my app"]', // 9
      'ENTRYPOINT ["/app/my app"]', // 10
    ].join('\n'));
    expect(df.globalArgs).toEqual({ BUILDER });
    expect(df.stages.map((s) => [s.index, s.name, s.image, s.line])).toEqual([[0, 'build', BUILDER, 2], [1, undefined, BASE, 8]]);
    expect(df.stages[0]!.imageRaw).toBe('${BUILDER}');
    const [run, heredoc] = df.stages[0]!.instructions;
    expect([run!.keyword, run!.line, run!.raw.replace(/\s+/g, ' ')]).toEqual(['RUN', 3, 'go build -o /out/app .']);
    expect(heredoc!.heredocs).toEqual([{ name: 'EOF', content: 'key = value' }]);
    expect(copyPaths(heredoc!)).toEqual({ sources: ['<<EOF'], dest: '/etc/app.conf' });
    const copy = df.final.instructions[0]!;
    expect(copy.flags).toEqual({ from: 'build', chown: '65532:65532' });
    expect(copyPaths(copy)).toEqual({ sources: ['/out/app'], dest: '/app/my app' });
    expect(df.final.instructions[1]!.json).toEqual(['/app/my app']);
  });

  it('links a stage built FROM an earlier stage, case-insensitively', () => {
    const df = parseDockerfile(`FROM ${BASE} AS Base\nFROM base\nUSER 1000\n`);
    expect(df.final.parent).toBe(df.stages[0]);
  });

  it('expands ARG and ENV defaults like the builder does', () => {
    expect(expand('${A}-${B:-dflt}-${C:+alt}-$D-\\$E', { A: 'a', C: 'c', D: 'd' })).toBe('a-dflt-alt-d-$E');
    const df = parseDockerfile(`ARG U=0\nFROM ${BASE}\nARG U\nENV HOME_DIR=/home/x\nUSER \${U}\nWORKDIR $HOME_DIR\n`);
    expect(df.final.instructions.find((i) => i.keyword === 'USER')!.args).toEqual(['0']);
    expect(df.final.instructions.find((i) => i.keyword === 'WORKDIR')!.args).toEqual(['/home/x']);
  });

  it('refuses what is not a Dockerfile, naming the line (DFP001)', () => {
    const cases: Array<[string, RegExp]> = [
      ['# nothing here\n', /Dockerfile:1: the Dockerfile has no FROM/],
      [`COPY a b\nFROM ${BASE}\n`, /Dockerfile:1: COPY comes before the first FROM/],
      [`FROM ${BASE}\nCOPYY a b\n`, /Dockerfile:2: unknown instruction "COPYY"/],
    ];
    for (const [text, msg] of cases) {
      let err: unknown;
      try {
        parseDockerfile(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CleanimgError);
      expect((err as CleanimgError).problems[0]!.code).toBe('DFP001');
      expect((err as Error).message).toMatch(msg);
    }
  });
});
