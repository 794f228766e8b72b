// Cross-check of the `xl -N create` golden cases against Xen's own `xl` (Debian's 4.17, run by
// scripts/xen-reference/xl). Opt-in: DOM0_XEN_REF=1 (it downloads Debian packages once and needs
// gcc). Stdout must be identical; on stderr, Xen's lines are ours minus our `hint:` lines and
// our own warnings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const DIR = join(ROOT, 'test', 'golden', 'create');
const XL = join(ROOT, 'scripts', 'xen-reference', 'xl');
/** Cases where Debian's build differs from upstream's defaults (its firmware directory). */
const DEBIAN_SPECIFIC = new Set(['alias-firmware-pvgrub']);
/** Cases using options newer than Xen 4.17. */
const NEWER_THAN_4_17 = new Set<string>();
/** Cases where Xen 4.17's xl crashes (or reads garbage) and dom0 keeps a sane error. */
const XEN_CRASHES = new Set(['err-vcpus-huge']);

const enabled = process.env.DOM0_XEN_REF === '1';
/** dom0's own warnings (Xen is silent there). */
const OURS = /warning: (unknown option|`restart' is an xm option)/;

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.cfg')).sort()) {
  const name = file.slice(0, -'.cfg'.length);
  if (DEBIAN_SPECIFIC.has(name) || NEWER_THAN_4_17.has(name) || XEN_CRASHES.has(name)) continue;
  test(`Xen's xl -N create ${name}.cfg agrees`, { skip: !enabled && 'set DOM0_XEN_REF=1' }, () => {
    const conf = join(DIR, `${name}.conf`, 'xl.conf');
    const r = spawnSync(XL, ['-N', 'create', relative(ROOT, join(DIR, file))], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...(existsSync(conf) ? { XL_CONF: conf } : {}) },
    });
    const jsonPath = join(DIR, `${name}.json`);
    const errPath = join(DIR, `${name}.err`);
    if (existsSync(jsonPath)) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(jsonPath, 'utf8'));
    } else {
      assert.notEqual(r.status, 0);
      const stdoutPath = join(DIR, `${name}.stdout`);
      assert.equal(r.stdout, existsSync(stdoutPath) ? readFileSync(stdoutPath, 'utf8') : '');
    }
    if (existsSync(errPath)) {
      const ours = readFileSync(errPath, 'utf8').split('\n').filter((l) => !l.startsWith('hint: ') && !OURS.test(l)).join('\n');
      // A few of xl's last messages lack their newline; ours end their line unless they are xl's.
      const ended = (t: string): string => (t === '' || t.endsWith('\n') ? t : `${t}\n`);
      assert.equal(ended(r.stderr), ended(ours));
    }
  });
}
