// The QMP client against a real QEMU (no guest OS: SeaBIOS finds nothing to boot, which is all
// these commands need). One QEMU for the whole file, killed by pid at the end if still alive.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPidAlive, killPid, pidState, waitForPidExit } from '../../src/host/index.js';
import { launchQemu, qmpMonitorArgs, QmpCommandError, type QmpClient } from '../../src/qemu/index.js';
import { isToolstackError } from '../../src/common/index.js';

let dir: string;
let pid: number;
let qmp: QmpClient;

function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    readSync(fd, b, 0, n, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dom0-qmp-it-'));
  ({ pid, qmp } = await launchQemu({
    binary: 'qemu-system-x86_64',
    args: [
      '-S', '-nodefaults', '-no-user-config', '-machine', 'pc', '-accel', 'tcg,tb-size=16', '-m', '32', '-smp', '2',
      '-display', 'none', '-vnc', `unix:${join(dir, 'vnc.sock')}`, '-device', 'VGA',
      '-chardev', `socket,id=con0,path=${join(dir, 'con.sock')},server=on,wait=off`, '-serial', 'chardev:con0',
      ...qmpMonitorArgs(join(dir, 'qmp.sock')),
    ],
    logFile: join(dir, 'qemu.log'),
    qmpSocket: join(dir, 'qmp.sock'),
  }));
});

after(() => {
  qmp.close();
  if (pidState(pid) === 'running') killPid(pid);
  rmSync(dir, { recursive: true, force: true });
});

test('greeting carries the version of the binary', () => {
  const v = execFileSync('qemu-system-x86_64', ['-version'], { encoding: 'utf8' });
  const { major, minor } = qmp.greeting.version.qemu;
  assert.match(v, new RegExp(`version ${major}\\.${minor}\\.`));
});

test('query-status, cont and stop with their events', async () => {
  assert.deepEqual(await qmp.queryStatus(), { running: false, singlestep: false, status: 'prelaunch' });
  const resumed = qmp.waitForEvent('RESUME', { timeoutMs: 5000 });
  await qmp.cont();
  await resumed;
  assert.equal((await qmp.queryStatus()).status, 'running');
  const stopped = qmp.waitForEvent('STOP', { timeoutMs: 5000 });
  await qmp.stop();
  await stopped;
  assert.equal((await qmp.queryStatus()).status, 'paused');
  await qmp.cont();
});

test('query-cpus-fast gives host thread ids of the vCPUs', async () => {
  const cpus = await qmp.queryCpusFast();
  assert.deepEqual(cpus.map((c) => c['cpu-index']), [0, 1]);
  for (const c of cpus) assert.ok(existsSync(`/proc/${pid}/task/${c['thread-id']}`), `tid ${c['thread-id']}`);
});

test('human-monitor-command, query-chardev, query-vnc', async () => {
  assert.match(await qmp.humanMonitorCommand('info version'), /^\d+\.\d+\.\d+/);
  const con = (await qmp.queryChardev()).find((c) => c.label === 'con0');
  assert.match(con?.filename ?? '', /^disconnected:unix:.*con\.sock,server=on/); // no client attached
  const vnc = await qmp.queryVnc();
  assert.equal(vnc.enabled, true);
  assert.equal(vnc.family, 'unix');
});

test('blockdev-add + device_add; errors carry QEMU\'s desc; netdev add/del', async () => {
  const img = join(dir, 'd.raw');
  writeFileSync(img, '');
  truncateSync(img, 1 << 20);
  await qmp.blockdevAdd({ driver: 'raw', 'node-name': 'd1', file: { driver: 'file', filename: img } });
  await qmp.deviceAdd({ driver: 'virtio-blk-pci', id: 'xvdb', drive: 'd1' });
  await assert.rejects(qmp.deviceAdd({ driver: 'virtio-blk-pci', id: 'xvdb', drive: 'd1' }), (e: unknown) => {
    assert.ok(e instanceof QmpCommandError);
    assert.equal(e.code, 'QEMU');
    assert.match(e.message, /xvdb|in use|Duplicate/);
    return true;
  });
  await assert.rejects(qmp.blockdevDel('d1'), (e: unknown) => e instanceof QmpCommandError && /in use|busy|used/i.test(e.desc));
  await assert.rejects(qmp.deviceDel('nonesuch'), (e: unknown) => e instanceof QmpCommandError && e.errorClass === 'DeviceNotFound');
  await qmp.netdevAdd({ type: 'user', id: 'n1', restrict: true });
  await qmp.netdevDel('n1');
  await assert.rejects(qmp.netdevDel('n1'), QmpCommandError);
});

test('send-key, inject-nmi, screendump, dump-guest-memory', async () => {
  await qmp.sendKey(['ctrl', 'alt', 'delete']);
  await qmp.injectNmi();
  const ppm = join(dir, 'screen.ppm');
  await qmp.screendump(ppm);
  assert.equal(head(ppm, 2).toString('latin1'), 'P6');
  const core = join(dir, 'core.elf');
  await qmp.dumpGuestMemory(core);
  assert.deepEqual([...head(core, 4)], [0x7f, 0x45, 0x4c, 0x46]);
});

test('migrate to a file and query-migrate until completed', async () => {
  const file = join(dir, 'save.bin');
  await qmp.stop();
  await qmp.migrate(`exec:cat > ${file}`);
  let info = await qmp.queryMigrate();
  for (let i = 0; i < 200 && info.status !== 'completed' && info.status !== 'failed'; i++) {
    await new Promise((r) => setTimeout(r, 25));
    info = await qmp.queryMigrate();
  }
  assert.equal(info.status, 'completed', info['error-desc']);
  assert.equal(head(file, 4).toString('latin1'), 'QEVM');
});

test('quit: QEMU exits, the client sees the socket close, the pid is gone or a zombie', async () => {
  const shutdown = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 5000 });
  await qmp.quit();
  assert.equal((await shutdown).data['reason'], 'host-qmp-quit');
  assert.equal((await qmp.closed).reason, 'eof');
  assert.equal(await waitForPidExit(pid, 5000), true);
  assert.equal(isPidAlive(pid), false);
  await assert.rejects(qmp.queryStatus(), /QEMU went away/);
});

test('launchQemu: a QEMU that exits at start is an error quoting its own message', async () => {
  const log = join(dir, 'bad.log');
  await assert.rejects(launchQemu({
    binary: 'qemu-system-x86_64',
    args: ['-nodefaults', '-display', 'none', '-drive', `file=${join(dir, 'missing.qcow2')},if=none,id=x`, ...qmpMonitorArgs(join(dir, 'bad.sock'))],
    logFile: log,
    qmpSocket: join(dir, 'bad.sock'),
  }), (e: unknown) => isToolstackError(e, 'QEMU') && /exited at start: .*missing\.qcow2/.test(e.message));
});
