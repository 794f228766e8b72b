// Golden cases for `xl -N create`: for each NAME.cfg here, `xl -N create test/golden/create/NAME.cfg`
// runs in-process (cwd = the repository root) and
//   NAME.json  is its exact stdout (exit 0): what Xen's xl prints (checked against Xen 4.17's xl);
//   NAME.err   is its exact stderr (without NAME.json: the command fails, with the exit status in
//              EXIT_STATUS or 1);
//   NAME.stdout is what a failing command printed on stdout first (else nothing).
// DOM0_CONFIG_DIR is NAME.conf/ when it exists (its xl.conf applies), else a missing directory.
// Regenerate after a deliberate change with DOM0_GOLDEN_UPDATE=1.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { runXl } from '../../support/xl.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const DIR = join(ROOT, 'test', 'golden', 'create');
const UPDATE = process.env.DOM0_GOLDEN_UPDATE === '1';

/** Cases whose xl exit status is not 1 (xl's `exit(-ERROR_FAIL)`). */
const EXIT_STATUS: Readonly<Record<string, number>> = { 'err-timer-mode-pv': 3, 'err-pci-unknown-option': 6, 'err-pci-rdm-policy': 3 };


for (const file of readdirSync(DIR).filter((f) => f.endsWith('.cfg')).sort()) {
  const name = file.slice(0, -'.cfg'.length);
  test(`xl -N create ${name}.cfg`, async () => {
    const confDir = join(DIR, `${name}.conf`);
    const configDir = existsSync(confDir) ? confDir : join(DIR, 'no-such-dir');
    const r = await runXl(['-N', 'create', relative(ROOT, join(DIR, file))], { env: { DOM0_CONFIG_DIR: configDir, PATH: process.env.PATH ?? '' }, cwd: ROOT });
    const jsonPath = join(DIR, `${name}.json`);
    const errPath = join(DIR, `${name}.err`);
    const stdoutPath = join(DIR, `${name}.stdout`);
    if (UPDATE) {
      if (r.rc === 0) writeFileSync(jsonPath, r.stdout);
      else if (r.stdout !== '') writeFileSync(stdoutPath, r.stdout);
      if (r.rc !== 0 || r.stderr.split('\n').length > 2) writeFileSync(errPath, r.stderr);
      return;
    }
    if (existsSync(jsonPath)) {
      assert.equal(r.rc, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(jsonPath, 'utf8'));
    } else {
      assert.equal(r.rc, EXIT_STATUS[name] ?? 1, r.stderr);
      assert.equal(r.stdout, existsSync(stdoutPath) ? readFileSync(stdoutPath, 'utf8') : '');
    }
    if (existsSync(errPath)) assert.equal(r.stderr, readFileSync(errPath, 'utf8'));
  });
}
