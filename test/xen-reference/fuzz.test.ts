// Differential test of dom0's xl against Xen 4.17's own xl (scripts/xen-reference/xl) on random
// inputs (generate.ts): `-N create FILE [key=value...]` (with and without an xl.conf),
// `-N block-attach 0 SPEC...`, `-N network-attach 0 KEY=VALUE...`. Stdout and the exit status must
// be identical; stderr too, minus our documented additions (`hint:` lines and our own warnings).
// Opt-in: DOM0_XEN_REF=1. DOM0_XEN_FUZZ_SEED (default 1) and DOM0_XEN_FUZZ_COUNT (default 300)
// bound the run (~0.15 s a case); DOM0_XEN_FUZZ_REPORT=FILE writes every difference there as
// JSON lines. Every class of difference it found is a golden case under test/golden/.
//
// Where dom0 deliberately differs from 4.17 (so the generator avoids it, see generate.ts):
// - options and spec keys newer than 4.17 (NEWER_THAN_4_17, vif `vlan=`, disk `grant_usage=` /
//   `trusted`, p9 `type=`/limits, `tee="ffa"`): read as current Xen reads them; p9 follows current
//   Xen's split+trim parser (`Unknown 9pfs parameter '%s'`, empty values refused, items
//   independent), where 4.17 uses strtok and carries tag/path/security_model/backend over between
//   items;
// - Debian's firmware directory (`firmware="pvgrub*"`);
// - legacy xm configs (an `import`/`if` line) that our interpreter evaluates, where xl fails;
// - Xen crashing or reading past a string: huge vCPU counts (libxl's allocation dies, exit 255;
//   dom0 refuses above 2^20), `vm.*cpumask="nodes:..."` in xl.conf (xl segfaults under the shim),
//   a 5-group `mac=` (xl reads past the end: the next argv string), a BDF without its function
//   (`00:02,...`: sscanf leaves `%n` unset), `rdm="...,policy=..."` (4.17's inverted check), and
//   the policy `rdm="strategy=host"` leaves (uninitialised: usually null, as dom0 prints it, but
//   `strict` after some configs);
// - a missing final newline: a few of xl's messages have none at exit; ours do.
// Failures of Xen itself (a signal or exit >= 128) are counted, not compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runXl } from '../support/xl.js';
import { generate } from './generate.js';
import type { FuzzCase } from './generate.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const XL = join(ROOT, 'scripts', 'xen-reference', 'xl');
const enabled = process.env.DOM0_XEN_REF === '1';
const SEED = Number(process.env.DOM0_XEN_FUZZ_SEED ?? '1');
const COUNT = Number(process.env.DOM0_XEN_FUZZ_COUNT ?? '300');
const REPORT = process.env.DOM0_XEN_FUZZ_REPORT;

/** dom0's documented additions on stderr (Xen prints none of these). */
const OURS = /^hint: |warning: (unknown option|`restart' is an xm option)/;

/**
 * Xen 4.17 crashed (a signal, or libxl's fatal allocation failure, exit 255): dom0 keeps its sane
 * error there (golden case err-vcpus-huge).
 */
function xenMisbehaved(status: number | null): boolean {
  return status === null || status >= 128;
}

interface Outcome {
  readonly rc: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runXen(c: FuzzCase, argv: readonly string[], dir: string): Outcome {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (c.xlconf !== undefined) env.XL_CONF = join(dir, 'conf', 'xl.conf');
  const r = spawnSync(XL, argv, { cwd: dir, encoding: 'utf8', env, timeout: 10_000 });
  return { rc: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Cases compared, by command and Xen's exit status (printed as the test's diagnostic). */
const tally = new Map<string, number>();

async function compare(c: FuzzCase, dir: string): Promise<string | undefined> {
  rmSync(join(dir, 'conf'), { recursive: true, force: true });
  if (c.cfg !== undefined) writeFileSync(join(dir, 'fz.cfg'), c.cfg);
  if (c.xlconf !== undefined) {
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf', 'xl.conf'), c.xlconf);
  }
  const argv = c.argv.map((a) => a.replace(/^(--defconfig=)?FILE$/, '$1fz.cfg'));
  const xen = runXen(c, argv, dir);
  const key = `${c.argv.find((a) => !a.startsWith('-')) ?? ''} rc=${xenMisbehaved(xen.rc) ? 'crash' : String(xen.rc)}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  if (xenMisbehaved(xen.rc)) return undefined;
  const ours = await runXl(argv, { cwd: dir, env: { DOM0_CONFIG_DIR: join(dir, 'conf'), PATH: process.env.PATH ?? '' } });
  // A legacy xm config (which xl rejects) evaluated by our interpreter: a documented addition.
  if (ours.stderr.includes("warning: legacy xm (Python) config, which xl rejects")) return undefined;
  // Xen reads xl.conf as /etc/xen/xl.conf; a config without uuid gets a random one from both.
  const oursErr = ours.stderr.split('\n').filter((l) => !OURS.test(l)).join('\n').replaceAll(join(dir, 'conf'), '/etc/xen');
  // So does ms_vm_genid="generate".
  const uuid = (s: string): string => s.replace(/"uuid": "[0-9a-f-]{36}"/g, '"uuid": "UUID"').replace(/\(uuid [0-9a-f-]{36}\)/g, '(uuid UUID)')
    .replace(/"ms_vm_genid": \[[\s\d,]*\]/g, '"ms_vm_genid": GENID');
  const diffs: string[] = [];
  if (ours.rc !== xen.rc) diffs.push(`rc ${ours.rc} vs xen ${xen.rc}`);
  if (uuid(ours.stdout) !== uuid(xen.stdout)) diffs.push('stdout');
  // A few of xl's last messages lack their newline (`failed to parse channel configuration: %s`
  // and the like); ours end their line, except where xl's next output runs on from it.
  const ended = (t: string): string => (t === '' || t.endsWith('\n') ? t : `${t}\n`);
  if (ended(oursErr) !== ended(xen.stderr)) diffs.push('stderr');
  if (diffs.length === 0) return undefined;
  const record = { id: c.id, argv, cfg: c.cfg, xlconf: c.xlconf, diffs, xen, ours: { ...ours, stderr: oursErr } };
  if (REPORT !== undefined) appendFileSync(REPORT, `${JSON.stringify(record)}\n`);
  return `${c.id} ${argv.join(' ')}: ${diffs.join(', ')}`;
}

test(`dom0's xl and Xen's xl agree on ${COUNT} random inputs (seed ${SEED})`, { skip: !enabled && 'set DOM0_XEN_REF=1' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-xen-fuzz-'));
  const cwd = process.cwd();
  process.chdir(dir); // both xls take the config's name relative to the working directory
  try {
    const failures: string[] = [];
    for (const c of generate(SEED, COUNT)) {
      const f = await compare(c, dir);
      if (f !== undefined) failures.push(f);
    }
    t.diagnostic(`compared: ${JSON.stringify(Object.fromEntries([...tally].sort()))}; differing: ${failures.length}`);
    assert.deepEqual(failures, []);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
