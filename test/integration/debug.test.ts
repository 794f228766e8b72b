// Guest debugging on real QEMU (TCG) through `xl` and an autostarted dom0d, one PV guest booted
// to its shell: `xl dump-core` writes an ELF core (mode 0600) that readelf and gdb open — gdb with
// the guest's vmlinux reads the vCPU's registers from it — while the guest runs on;
// `xl qemu-monitor-command` runs HMP commands through dom0d's QMP connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, xlIn, xsRead } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;
let con: GuestConsole | undefined;

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  writeFileSync(join(host.root, 'dbg.cfg'), [
    'name = "dbg"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
  ].join('\n'));
  assert.equal((await xlIn(host, host.root, 'create', 'dbg.cfg')).code, 0);
  const domid = Number((await xlIn(host, host.root, 'domid', 'dbg')).out.trim());
  con = await GuestConsole.connect(xsRead(host, `/local/domain/${domid}/console/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
});

after(async () => {
  con?.close();
  await xlIn(host, host.root, 'destroy', 'dbg');
  await destroyHost(host);
});

test('xl dump-core writes an ELF core that readelf and gdb open; the guest runs on', async () => {
  const r = await xlIn(host, host.root, 'dump-core', 'dbg', 'dbg.core');
  assert.equal(r.code, 0, r.err);
  const core = join(host.root, 'dbg.core');
  assert.equal(statSync(core).mode & 0o777, 0o600);
  const header = execFileSync('readelf', ['-h', core], { encoding: 'utf8' });
  assert.match(header, /Type:\s+CORE \(Core file\)/);
  assert.match(execFileSync('readelf', ['-l', core], { encoding: 'utf8' }), /\n\s+LOAD\s/);
  const gdb = execFileSync('gdb', ['-batch', '-nx', '-ex', `file ${guests.vmlinux}`, '-ex', `core-file ${core}`, '-ex', 'info registers rip'], { encoding: 'utf8' });
  assert.match(gdb, /rip\s+0x[0-9a-f]+/);
  assert.equal((await (con as GuestConsole).run('echo alive')).out.trim(), 'alive');
  const listed = JSON.parse((await xlIn(host, host.root, 'list', '--json', 'dbg')).out) as Array<{ state: string }>;
  assert.equal(listed[0]?.state, 'running');
});

test('xl dump-core into a missing directory: the cause, then xl\'s line', async () => {
  const r = await xlIn(host, host.root, 'dump-core', 'dbg', 'no/such/dir/dbg.core');
  assert.equal(r.code, 1);
  assert.match(r.err, /no\/such\/dir\/dbg\.core/);
  assert.match(r.err, /\ncore dump failed \(rc=-3\)\n/);
});

test('xl qemu-monitor-command runs HMP commands; anything but two arguments is xl\'s "Invalid arguments."', async () => {
  const r = await xlIn(host, host.root, 'qemu-monitor-command', 'dbg', 'info status');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^VM status: running\r?\n/);
  const bad = await xlIn(host, host.root, 'qemu-monitor-command', 'dbg');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Invalid arguments\.\n/);
});
