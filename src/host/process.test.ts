import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidFileHolder, readPidFile, releasePidFile, tryTakePidFile } from './pid-file.js';
import { isPidAlive, killPid, logTail, pidCmdline, pidState, spawnDetached, waitForPidExit } from './process.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dom0-proc-'));
}

test('spawnDetached: own session, stdio to the log, pid file; kill by pid', async () => {
  const dir = tmp();
  try {
    const log = join(dir, 'x.log');
    const pidFile = join(dir, 'x.pid');
    const child = await spawnDetached({ binary: '/bin/sh', args: ['-c', 'echo started; echo oops >&2; exec sleep 30'], logFile: log, pidFile });
    const { pid } = child;
    assert.equal(readPidFile(pidFile), pid);
    assert.equal(isPidAlive(pid), true);
    // Own session: the session id (field 6 of /proc/PID/stat) is its own pid.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), pid);
    for (let i = 0; i < 100 && !logTail(log).includes('oops'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(logTail(log), 'started\noops');
    // The shell execs sleep after its last echo: a moment after the log shows it.
    for (let i = 0; i < 100 && pidCmdline(pid)?.[0] !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(pidCmdline(pid), ['sleep', '30']);
    assert.equal(killPid(pid), true);
    assert.equal(await waitForPidExit(pid, 2000), true);
    assert.notEqual(pidState(pid), 'running');
    // Its own kill does nothing once it has ended: its pid may be another process's by then.
    for (let i = 0; i < 200 && child.kill('SIGCONT'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(child.kill(), false);
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

test('pid-file locks: taken once; a dead, recycled or zombie holder does not hold it', async () => {
  const dir = tmp();
  try {
    const lock = join(dir, 'x.pid');
    assert.equal(tryTakePidFile(lock), undefined);
    assert.equal(pidFileHolder(lock), process.pid);
    assert.equal(tryTakePidFile(lock), undefined, 'the holder takes it again');
    releasePidFile(lock);
    assert.equal(readPidFile(lock), undefined);
    // A live process holds it; once it has exited (a zombie until reaped), it no longer does.
    const child = await spawnDetached({ binary: '/bin/sh', args: ['-c', 'exec sleep 30'], logFile: join(dir, 'c.log'), pidFile: lock });
    assert.equal(tryTakePidFile(lock), child.pid);
    child.kill();
    await waitForPidExit(child.pid, 2000);
    assert.equal(tryTakePidFile(lock), undefined);
    assert.equal(readPidFile(lock), process.pid);
    // The right pid with another start time is a recycled pid: stale.
    writeFileSync(lock, `${process.pid} 1\n`);
    assert.equal(pidFileHolder(lock), undefined);
    assert.equal(tryTakePidFile(lock), undefined);
    // A bare pid (QEMU's -pidfile) of a live process holds it.
    writeFileSync(lock, `${process.pid}\n`);
    assert.equal(pidFileHolder(lock), process.pid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a wall clock that jumps moves no deadline; an empty pid file dated ahead of the clock is stale', async () => {
  const dir = tmp();
  const real = Date.now;
  let steps = 0;
  // The host's time stepped a day forward at every look: a deadline on it ended at once before.
  Date.now = () => real() + 86_400_000 * ++steps;
  try {
    const t0 = performance.now();
    assert.equal(await waitForPidExit(process.pid, 200), false);
    assert.ok(performance.now() - t0 >= 190, `waited ${performance.now() - t0} ms`);
  } finally {
    Date.now = real;
  }
  try {
    // A starter's empty pid file counts as held for a few seconds; one dated a day ahead (the clock
    // set back since) held the daemon off for that day.
    const lock = join(dir, 'x.pid');
    writeFileSync(lock, '');
    const tomorrow = new Date(real() + 86_400_000);
    utimesSync(lock, tomorrow, tomorrow);
    assert.equal(tryTakePidFile(lock), undefined);
    assert.equal(readPidFile(lock), process.pid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spawnDetached: a pid file that cannot be written stops the child it would have named', async () => {
  const dir = tmp();
  const marker = `30.${process.pid}${Date.now() % 1000}`;
  const running = (): boolean => readdirSync('/proc').some((p) => {
    try {
      return /^\d+$/.test(p) && pidState(Number(p)) === 'running' && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
  try {
    await assert.rejects(spawnDetached({ binary: '/bin/sh', args: ['-c', `exec sleep ${marker}`], logFile: join(dir, 'x.log'), pidFile: join(dir, 'missing', 'x.pid') }));
    for (let i = 0; i < 100 && running(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(running(), false, 'no child left running unseen');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
