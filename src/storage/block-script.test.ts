import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { executableProblem, killPid } from '../host/index.js';
import { blockScriptEnv, blockScriptPath, reportedDevice, runBlockScript } from './block-script.js';

test('a block script is found and given libxl\'s environment', () => {
  assert.equal(blockScriptPath('block-iscsi', '/etc/xen/scripts'), '/etc/xen/scripts/block-iscsi');
  assert.equal(blockScriptPath('/opt/blk', '/etc/xen/scripts'), '/opt/blk');
  const env = blockScriptEnv({ script: '/s/block-x', action: 'add', domid: 3, devid: 51728, xenstoredSocket: '/run/xs' }, { PATH: '/bin' });
  assert.deepEqual(env, {
    PATH: '/bin', script: '/s/block-x', XENBUS_TYPE: 'vbd', XENBUS_PATH: 'backend/vbd/3/51728', XENBUS_BASE_PATH: 'backend', XENSTORED_PATH: '/run/xs',
  });
});

test('the device an add reports: physical-device-path, else physical-device in hex', () => {
  assert.equal(reportedDevice('/dev/loop4', '7:4'), '/dev/loop4');
  assert.equal(reportedDevice(undefined, 'fe:1a'), '/dev/block/254:26');
  assert.equal(reportedDevice('', 'junk'), undefined);
  assert.equal(reportedDevice(undefined, undefined), undefined);
});

test('a script that is missing, not executable, or fails is told with its last line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-blockscript-'));
  try {
    const script = join(dir, 'block-t');
    assert.equal(executableProblem(script), 'does not exist');
    // A directory passes execute access: it failed later, at spawn (EACCES).
    assert.equal(executableProblem(dir), 'is a directory, not a file');
    writeFileSync(script, '#!/bin/sh\n[ "$1" = add ] && [ "$XENBUS_TYPE" = vbd ] && exit 0\necho "cannot $1" >&2\nexit 3\n');
    assert.equal(executableProblem(script), 'is not executable');
    chmodSync(script, 0o755);
    assert.equal(executableProblem(script), undefined);
    const run = { script, domid: 1, devid: 51712, xenstoredSocket: '/nonexistent' };
    assert.equal(await runBlockScript({ ...run, action: 'add' }), undefined);
    assert.equal(await runBlockScript({ ...run, action: 'remove' }), 'exit status 3: cannot remove');
    // A script that leaves a daemon behind (its output still open) is done when it exits (it took the full 40 s).
    writeFileSync(script, `#!/bin/sh\nsleep 60 &\necho $! > ${dir}/pid\nexit 0\n`);
    const started = Date.now();
    assert.equal(await runBlockScript({ ...run, action: 'add' }), undefined);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    killPid(Number(readFileSync(join(dir, 'pid'), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a script that cannot start for want of descriptors is the host\'s failure (HOST_RESOURCES), not the script\'s', () => {
  const module = join(import.meta.dirname, 'block-script.js');
  const script = `
    import { openSync } from 'node:fs';
    const { runBlockScript } = await import(${JSON.stringify(module)});
    try { for (;;) openSync('/dev/null', 'r'); } catch {}
    await runBlockScript({ script: '/bin/true', action: 'add', domid: 1, devid: 51712, xenstoredSocket: '/nonexistent' }).then(
      (r) => console.log('returned', r), (e) => console.log(e.code, e.message));
  `;
  const r = spawnSync('prlimit', ['--nofile=64', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^HOST_RESOURCES Running \/bin\/true add failed: dom0d has no file descriptor left \(/);
});
