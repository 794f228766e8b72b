// dom0d on a full disk: its state directory is a small tmpfs this test mounts (root only) and
// fills. A change that cannot be saved (a rename) is one clear NO_SPACE line and leaves the domain
// as it was, in memory and after a restart; a destroy still finishes (removing a record needs no
// space); dom0d keeps serving; once space returns, changes work again. A pause or unpause whose
// new state cannot be saved puts the machine back as it was: the record never says running over
// a stopped guest (which no unpause could then resume), nor paused over a running one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { processCpuTimeNs } from '../../src/host/index.js';
import { ensureGuests } from '../support/guests.js';
import { destroyDomains, destroyHost, makeHost, pidsNaming, readPid, registerDomain, waitGone, xl } from './daemon-harness.js';

const isRoot = process.getuid?.() === 0;
const host = makeHost();
let mounted = false;

after(async () => {
  await destroyDomains(host);
  // Detached first (lazily: dom0d may still hold files there), so the temp dir can go.
  if (mounted) execFileSync('umount', ['-l', host.stateDir]);
  await destroyHost(host);
});

function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'a');
  const chunk = Buffer.alloc(4096, 0x5a);
  try {
    for (;;) if (writeSync(fd, chunk) < chunk.length) break;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

async function names(): Promise<string[]> {
  return (JSON.parse((await xl(host, 'list', '--json')).out) as Array<{ name: string }>).map((d) => d.name);
}

test('a full state directory: rename refused with NO_SPACE and undone, destroy still finishes, dom0d serves on', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  mkdirSync(host.stateDir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', host.stateDir]);
  mounted = true;
  assert.equal((await xl(host, 'list')).code, 0);
  await registerDomain(host, 'keep');
  await registerDomain(host, 'gone');
  fill(host.stateDir);

  const r = await xl(host, 'rename', 'keep', 'renamed');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^Writing \S+\/domains\/1\.json failed: no space left on device\nhint: free space on the file system that holds /);
  assert.doesNotMatch(r.err, /internal error|\n\s+at /);
  const json = JSON.parse((await xl(host, 'rename', '--json', 'keep', 'renamed')).out) as { error: { code: string } };
  assert.equal(json.error.code, 'NO_SPACE');
  assert.deepEqual(await names(), ['Domain-0', 'keep', 'gone'], 'the refused rename is undone in memory');

  assert.equal((await xl(host, 'destroy', 'gone')).code, 0, 'a destroy needs no space');
  assert.deepEqual(await names(), ['Domain-0', 'keep']);

  // After a restart the disk says the same as memory did.
  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await waitGone(dom0d);
  unlinkSync(join(host.stateDir, 'filler'));
  assert.deepEqual(await names(), ['Domain-0', 'keep']);
  assert.equal((await xl(host, 'rename', 'keep', 'renamed')).code, 0, 'with space back, the rename works');
  assert.deepEqual(await names(), ['Domain-0', 'renamed']);
});

/** Whether QEMU `pid` runs its guest: it takes CPU time over 600 ms (a TCG guest booting takes plenty). */
async function machineRuns(pid: number): Promise<boolean> {
  const t0 = processCpuTimeNs(pid) ?? 0;
  await new Promise((r) => setTimeout(r, 600));
  return (processCpuTimeNs(pid) ?? 0) - t0 > 50e6;
}

test('a full state directory: pause and unpause refused with NO_SPACE leave the machine as its record says', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  const guests = ensureGuests();
  const cfg = join(host.root, 'busy.cfg');
  writeFileSync(cfg, ['name = "busy"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128'].join('\n'));
  assert.equal((await xl(host, 'create', cfg)).code, 0);
  const qemu = pidsNaming(host.runDir).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('qemu-system')) as number;
  const state = async (): Promise<string> => (JSON.parse((await xl(host, 'list', '--json')).out) as Array<{ name: string; state: string }>).find((d) => d.name === 'busy')?.state ?? 'none';
  fill(host.stateDir);
  let r = await xl(host, 'pause', 'busy');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /failed: no space left on device\n/);
  assert.equal(await state(), 'running');
  assert.ok(await machineRuns(qemu), 'the machine runs, as its record says');
  unlinkSync(join(host.stateDir, 'filler'));
  assert.equal((await xl(host, 'pause', 'busy')).code, 0);
  fill(host.stateDir);
  r = await xl(host, 'unpause', 'busy');
  assert.equal(r.code, 1, r.err);
  assert.equal(await state(), 'paused');
  assert.ok(!await machineRuns(qemu), 'the machine is stopped, as its record says');
  unlinkSync(join(host.stateDir, 'filler'));
  assert.equal((await xl(host, 'unpause', 'busy')).code, 0);
  assert.ok(await machineRuns(qemu));
});
