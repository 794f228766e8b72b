import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ToolstackError } from '../common/index.js';
import { CommandFailed } from './command.js';
import { shortageError, shortageOf } from './shortage.js';

test('shortageOf finds the host\'s shortage in an error, its causes and a command that could not start; nothing else', () => {
  const errno = (code: string): Error => Object.assign(new Error(`spawn x ${code}`), { code });
  assert.equal(shortageOf(errno('EAGAIN')), 'EAGAIN');
  assert.equal(shortageOf(new CommandFailed(['ip', 'link'], 'cannot run it (spawn ip ENOMEM)', '', 'ENOMEM')), 'ENOMEM');
  assert.equal(shortageOf(new ToolstackError('IO', 'Opening x failed', { cause: new Error('wrapped', { cause: errno('ENFILE') }) })), 'ENFILE');
  assert.equal(shortageOf(new CommandFailed(['ip'], 'exited 1', 'RTNETLINK answers: Resource temporarily unavailable')), undefined);
  assert.equal(shortageOf(errno('ENOENT')), undefined);
  assert.equal(shortageOf(Object.assign(new Error('exit'), { code: 11 })), undefined);
  assert.equal(shortageOf('EMFILE'), undefined);
  const e = shortageError('EAGAIN', 'POST /v1/domains', errno('EAGAIN'));
  assert.equal(e.code, 'HOST_RESOURCES');
  assert.equal(e.message, 'POST /v1/domains failed: the host could not start a process (spawn x EAGAIN)');
  assert.equal(shortageOf(e), 'EAGAIN');
  assert.match(e.hint ?? '', /pids cgroup/);
});

test('a process out of file descriptors: a command and a detached child that cannot start say so, naming the limit', () => {
  const host = join(import.meta.dirname, 'index.js');
  const script = `
    import { closeSync, openSync } from 'node:fs';
    const { openFilesLimit, runCommand, shortageOf, spawnDetached } = await import(${JSON.stringify(host)});
    openFilesLimit(); // as dom0d does when it starts
    const held = [];
    try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
    const out = {};
    // Room for the spawn's own pipes, not for its child's: the exec fails or the pipes do.
    await runCommand('true', []).then(() => { out.command = 'ran'; }, (e) => { out.command = shortageOf(e) ?? e.message; });
    closeSync(held.pop()); // room for the log file it opens first
    await spawnDetached({ binary: 'true', args: [], logFile: '/dev/null' }).then(() => { out.detached = 'ran'; }, (e) => { out.detached = e.code + ': ' + e.message + ' | ' + e.hint; });
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync('prlimit', ['--nofile=64', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { command: string; detached: string };
  assert.equal(out.command, 'EMFILE');
  assert.match(out.detached, /^HOST_RESOURCES: Starting 'true' failed: dom0d has no file descriptor left \(.*EMFILE.*\) \| dom0d has open all the files its limit allows \(64; /);
});
