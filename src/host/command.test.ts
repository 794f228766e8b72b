import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CommandFailed, runCommand } from './command.js';
import { isPidAlive, killPid } from './process.js';

test('a command is done when it exits, even if a child it started holds its output open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-command-'));
  const pidFile = join(dir, 'pid');
  try {
    const started = Date.now();
    const out = await runCommand('sh', ['-c', `echo before; sleep 60 & echo $! > ${pidFile}; echo after`]);
    assert.equal(out, 'before\nafter\n');
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(isPidAlive(pid), 'what the command started is left alone');
    killPid(pid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failure tells how the command ended and its last stderr line; a timeout ends its whole group', async () => {
  await assert.rejects(runCommand('sh', ['-c', 'echo one >&2; echo two >&2; exit 4']), (e: unknown) =>
    e instanceof CommandFailed && e.status === 'exit status 4' && e.detail === 'two');
  const dir = mkdtempSync(join(tmpdir(), 'dom0-command-'));
  const pidFile = join(dir, 'pid');
  try {
    await assert.rejects(runCommand('sh', ['-c', `sleep 60 & echo $! > ${pidFile}; wait`], { timeoutMs: 1000 }), (e: unknown) =>
      e instanceof CommandFailed && e.status === 'no answer within 1 s');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 50 && isPidAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(isPidAlive(pid), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(runCommand('/nonexistent/tool', []), (e: unknown) => e instanceof CommandFailed && /^cannot run it/.test(e.status));
});

test('a command that cannot start for want of file descriptors (EMFILE) fails as one, and the process goes on', () => {
  // A child Node at its file limit: every descriptor taken, then runCommand.
  const script = `
    import { openSync } from 'node:fs';
    import { runCommand } from ${JSON.stringify(new URL('./command.js', import.meta.url).href)};
    try { for (;;) openSync('/dev/null', 'r'); } catch {}
    const r = await runCommand('true', []).then(() => 'ran', (e) => e.message);
    console.log(r);
  `;
  const out = execFileSync('prlimit', ['--nofile=64:64', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(out, 'true: cannot run it (spawn true EMFILE)\n');
});
