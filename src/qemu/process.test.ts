import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isToolstackError } from '../common/index.js';
import {
  isPidAlive, killPid, logTail, pidCmdline, pidState, readPidFile, spawnDetached, waitForPidExit, waitForSocket,
} from './process.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dom0-proc-'));
}

test('spawnDetached: own session, stdio to the log, pid file; kill by pid', async () => {
  const dir = tmp();
  try {
    const log = join(dir, 'x.log');
    const pidFile = join(dir, 'x.pid');
    const pid = await spawnDetached({ binary: '/bin/sh', args: ['-c', 'echo started; echo oops >&2; exec sleep 30'], logFile: log, pidFile });
    assert.equal(readPidFile(pidFile), pid);
    assert.equal(isPidAlive(pid), true);
    // Own session: the session id (field 6 of /proc/PID/stat) is its own pid.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), pid);
    for (let i = 0; i < 100 && !logTail(log).includes('oops'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(logTail(log), 'started\noops');
    assert.deepEqual(pidCmdline(pid), ['sleep', '30']);
    assert.equal(killPid(pid), true);
    assert.equal(await waitForPidExit(pid, 2000), true);
    assert.notEqual(pidState(pid), 'running');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pidState: gone for an unused pid; zombie is not alive', async () => {
  assert.equal(pidState(2 ** 22 + 7), 'gone');
  assert.equal(killPid(2 ** 22 + 7), false);
  assert.equal(pidState(process.pid), 'running');
});

test('readPidFile: missing or garbage is undefined', () => {
  const dir = tmp();
  try {
    assert.equal(readPidFile(join(dir, 'none')), undefined);
    writeFileSync(join(dir, 'bad'), 'x\n');
    assert.equal(readPidFile(join(dir, 'bad')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waitForSocket: ready when listening; the log tail when the process exits first', async () => {
  const dir = tmp();
  try {
    const sock = join(dir, 's.sock');
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(sock, () => r()));
    await waitForSocket(sock, process.pid, { timeoutMs: 1000 });
    server.close();
    const log = join(dir, 'q.log');
    const pid = await spawnDetached({ binary: '/bin/sh', args: ['-c', 'echo "qemu: -drive: no such file" >&2; exit 1'], logFile: log });
    await assert.rejects(waitForSocket(join(dir, 'never.sock'), pid, { timeoutMs: 3000, logFile: log }),
      (e: unknown) => isToolstackError(e, 'QEMU') && /exited before its socket .*: qemu: -drive: no such file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
