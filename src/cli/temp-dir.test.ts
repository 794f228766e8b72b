import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTempDir } from './temp-dir.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-temp-dir-test-'));
const saved = process.env['TMPDIR'];
after(() => {
  if (saved === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = saved;
  rmSync(root, { recursive: true, force: true });
});

test('makeTempDir names its directory for this process and removes those a killed xl left (its process gone), no other', () => {
  process.env['TMPDIR'] = root;
  const dead = spawnSync('true').pid;
  const left = join(root, `dom0-migrate-in-${dead}-aaaaaa`);
  const live = join(root, `dom0-migrate-in-${process.pid}-bbbbbb`);
  const other = join(root, `dom0-migrate-${dead}-cccccc`);
  for (const d of [left, live, other]) mkdirSync(d);
  mkdirSync(join(left, 'inside'));
  const made = makeTempDir('dom0-migrate-in-');
  assert.match(made, new RegExp(`/dom0-migrate-in-${process.pid}-\\w{6}$`));
  assert.deepEqual([existsSync(left), existsSync(live), existsSync(other)], [false, true, true]);
  assert.equal(readdirSync(root).length, 3);
});

test('a TMPDIR that is relative, or too long for a socket in it, gives way to /tmp (before: xl migrate-receive failed there)', () => {
  const long = join(root, 'l'.repeat(80));
  mkdirSync(long);
  for (const given of ['relative/tmp', long]) {
    process.env['TMPDIR'] = given;
    const made = makeTempDir('dom0-temp-test-');
    try {
      assert.match(made, /^\/tmp\/dom0-temp-test-\d+-\w{6}$/);
      assert.ok(Buffer.byteLength(join(made, 'qemu.sock')) <= 107);
    } finally {
      rmSync(made, { recursive: true, force: true });
    }
  }
});
