// The writer of an outgoing migration stream when its reader never comes: QEMU streams into
// `exec:exec cat > FIFO`, and the sending xl reads the FIFO; an xl gone before it opened the FIFO
// leaves the writer blocked in open(2) — as the shell about to exec cat, since the redirection
// comes first (the stall guard looked for `cat` only, and never found it). dom0d ends that writer as soon as the xl is gone (the migration
// fails at once and the guest runs on, rather than when the stall guard fires), and a destroyed
// domain's QEMU takes its helpers with it (a writer left blocked outlived it for good, parent pid 1).
// One real QEMU (PV, TCG) behind an autostarted dom0d; the stall guard is set far beyond the
// test's waits. The API is spoken directly: the holder is a `sleep` this test starts and kills.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiRequest } from '../../src/api/index.js';
import { childPids, isPidAlive, pidCmdline } from '../../src/host/index.js';
import { directBootConfig, ensureGuests } from '../support/guests.js';
import { destroyDomains, destroyHost, makeHost, pidsNaming, until, xl } from './daemon-harness.js';

const host = makeHost();
const socket = join(host.runDir, 'api.sock');
const children: number[] = [];

before(async () => {
  host.env['DOM0_MIGRATION_STALL_MS'] = '600000';
  writeFileSync(join(host.root, 'w.cfg'), directBootConfig(ensureGuests(), 'w').join('\n'));
  const r = await xl(host, 'create', '-q', join(host.root, 'w.cfg'));
  assert.equal(r.code, 0, r.err);
});

after(async () => {
  for (const pid of children) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
  await destroyDomains(host);
  await destroyHost(host);
});

/** The domain's QEMU (its run directory is in its command line). */
async function qemuOf(name: string): Promise<number> {
  const list = JSON.parse((await xl(host, 'list', '--json')).out) as Array<{ domid: number; name: string }>;
  const domid = list.find((d) => d.name === name)?.domid;
  assert.ok(domid !== undefined, `no domain ${name}`);
  const [pid] = pidsNaming(join(host.runDir, 'domains', String(domid), ''));
  assert.ok(pid !== undefined);
  return pid;
}

const cats = (qemu: number): number[] => childPids(qemu).filter((c) => /(^|\0)(cat|exec cat > )/.test((pidCmdline(c) ?? []).join('\0')));

/** Starts a migration of `w` into a fresh FIFO nobody opens, held by a new `sleep`; resolves once QEMU's cat waits on it. */
async function stuckMigration(tag: string): Promise<{ result: Promise<unknown>; holder: number; cat: number; qemu: number }> {
  const fifo = join(host.root, `${tag}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  const holder = sleeper.pid as number;
  children.push(holder);
  const qemu = await qemuOf('w');
  const result = apiRequest(socket, 'POST', '/v1/domains/w/migrate', { fifo, holder });
  result.catch(() => undefined);
  const [cat] = await until('QEMU\'s cat waits on the FIFO', () => {
    const c = cats(qemu);
    return c.length > 0 ? c : undefined;
  });
  return { result, holder, cat: cat as number, qemu };
}

test('a migration whose sending xl ends before reading fails at once; the guest runs on, no writer left', async () => {
  const m = await stuckMigration('gone');
  const t0 = Date.now();
  process.kill(m.holder, 'SIGKILL');
  await assert.rejects(m.result);
  assert.ok(Date.now() - t0 < 15_000, `the migration ended ${Date.now() - t0} ms after its xl (stall guard: 600 s)`);
  assert.equal(isPidAlive(m.cat), false);
  await until('w runs again', async () => {
    const list = JSON.parse((await xl(host, 'list', '--json')).out) as Array<{ name: string; state: string }>;
    return list.find((d) => d.name === 'w')?.state === 'running';
  });
});

test('a destroyed domain takes its migration writer with it', async () => {
  const m = await stuckMigration('destroyed');
  const r = await xl(host, 'destroy', 'w');
  assert.equal(r.code, 0, r.err);
  await assert.rejects(m.result);
  await until('cat gone', () => !isPidAlive(m.cat));
  assert.equal(isPidAlive(m.qemu), false);
});
