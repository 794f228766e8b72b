// Golden cases for `xl -N block-attach` / `xl -N network-attach` (and other spec parsers):
// each `*.golden` file here holds blocks of
//   === ["xl", "arguments", ...]      (one or more command lines sharing the expectation)
//   --- rc N
//   --- stdout                         (verbatim lines up to the next `---`)
//   --- stderr
//   --- end
// Lines outside blocks starting with `#` are comments. xl runs in-process, with DOM0_CONFIG_DIR
// set to the directory `<name>.conf/` beside `<name>.golden` (xl.conf lives there), or to a
// directory that does not exist; DOM0_RUN_DIR names no dom0d, so only `-N` runs belong here.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runXl } from '../../support/xl.js';
import type { XlRun } from '../../support/xl.js';

const DIR = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'golden', 'spec');

interface Case {
  readonly argvs: string[][];
  readonly rc: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly line: number;
}

function parseGolden(text: string): Case[] {
  const lines = text.split('\n');
  const cases: Case[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i] as string;
    if (!l.startsWith('=== ')) {
      i++;
      continue;
    }
    const line = i + 1;
    const argvs: string[][] = [];
    while ((lines[i] ?? '').startsWith('=== ')) argvs.push(JSON.parse((lines[i++] as string).slice(4)) as string[]);
    const rcLine = lines[i++] ?? '';
    assert.match(rcLine, /^--- rc \d+$/, `line ${i}: expected --- rc`);
    const section = (name: string): string => {
      assert.equal(lines[i++], `--- ${name}`, `line ${i}: expected --- ${name}`);
      const body: string[] = [];
      while (!(lines[i] ?? '--- ').startsWith('--- ')) body.push(lines[i++] as string);
      return body.map((b) => `${b}\n`).join('');
    };
    const stdout = section('stdout');
    const stderr = section('stderr');
    assert.equal(lines[i++], '--- end');
    cases.push({ argvs, rc: Number(rcLine.slice(7)), stdout, stderr, line });
  }
  return cases;
}

function runGoldenXl(argv: readonly string[], configDir: string): Promise<XlRun> {
  return runXl(argv, { env: { DOM0_CONFIG_DIR: configDir, DOM0_RUN_DIR: join(DIR, 'no-such-run-dir') }, cwd: '/' });
}

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.golden')).sort()) {
  test(`golden ${file}`, async () => {
    const cases = parseGolden(readFileSync(join(DIR, file), 'utf8'));
    const confDir = join(DIR, file.replace(/\.golden$/, '.conf'));
    const configDir = existsSync(confDir) ? confDir : join(DIR, 'no-such-config-dir');
    assert.ok(cases.length > 0);
    for (const c of cases) {
      for (const argv of c.argvs) {
        const r = await runGoldenXl(argv, configDir);
        const where = `${file}:${c.line} xl ${JSON.stringify(argv)}`;
        assert.equal(r.stdout, c.stdout, `${where}: stdout`);
        assert.equal(r.rc, c.rc, `${where}: exit status`);
        assert.equal(r.stderr, c.stderr, `${where}: stderr`);
      }
    }
  });
}
