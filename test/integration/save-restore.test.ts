// `xl save` / `xl restore` on a real guest (QEMU, TCG) through `xl` and an autostarted dom0d: one
// PV guest keeps a value in RAM (tmpfs) and the steps run in order — save (the domain goes, the
// file has xl's header and mode 0600, no temporary is left), restore (the value is there, the
// guest answers), a checkpoint (`-c`: it runs on), `-p` (it stays, paused), then the error paths:
// a file that is not a save file, a Xen (libxl stream) save file, a save into a missing directory,
// onto a device node, FIFO, directory or dangling link (refused; through a symlink it is written),
// or onto a full file system (the domain runs on, no file is left), dom0d killed -9 during a save
// (the next dom0d resumes the guest), then a machine that its config no longer describes (a disk
// hot-plugged, a maximum raised for the next boot): the restore rebuilds it as it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiRequest, saveFileHeader } from '../../src/api/index.js';
import { ToolstackError } from '../../src/common/index.js';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import { destroyDomains, destroyHost, makeHost, readPid, until, xlIn, xsRead } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

let host: TestHost;
let con: GuestConsole | undefined;
let mounted = false;
const MARK = `dom0-state-${process.pid}`;

before(() => {
  const guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  writeFileSync(join(host.root, 'sr.cfg'), [
    'name = "sr"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
    // A PCI device after the disks: a disk hot-plugged sits after it, where the config would not put it.
    'usbctrl = [ "version=2" ]',
  ].join('\n'));
});

after(async () => {
  con?.close();
  if (mounted) execFileSync('umount', [join(host.root, 'small')]);
  await destroyDomains(host);
  await destroyHost(host);
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** A file in the test's directory. */
function at(name: string): string {
  return join(host.root, name);
}

async function state(): Promise<string | undefined> {
  const r = await ok('list', '--json');
  return (JSON.parse(r.out) as Array<{ name: string; state: string }>).find((d) => d.name === 'sr')?.state;
}

/** Connects to the guest's console (a new domain after a restore) and checks its shell answers. */
async function attach(waitReady: boolean): Promise<GuestConsole> {
  con?.close();
  const domid = Number((await ok('domid', 'sr')).out.trim());
  con = await GuestConsole.connect(xsRead(host, `/local/domain/${domid}/console/tty`));
  if (waitReady) {
    await con.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
    await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  }
  return con;
}

test('xl save writes xl\'s save file and the domain goes; xl restore brings it back with its memory', async () => {
  await ok('create', 'sr.cfg');
  const c = await attach(true);
  assert.equal((await c.run(`echo ${MARK} > /run/marker`)).rc, 0);
  // A name with what a shell or a QEMU option would take apart: a quote, a comma, brackets, spaces.
  const name = "sr it's, [1].save";
  const saved = await ok('save', 'sr', name);
  assert.equal(saved.err.replace(/\/\d+\)/, '/N)'), `Saving to ${name} new xl format (info 0x80000001/0x80000000/N)\n`);
  assert.equal(await state(), undefined);
  const file = join(host.root, name);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(file).subarray(0, 32).toString('latin1'), 'Xen saved domain, xl format\n \0 \r');
  assert.deepEqual(readdirSync(host.root).filter((f) => f.includes('dom0-save')), []);

  const restored = await ok('restore', name);
  assert.equal(restored.err.replace(/\/\d+\)/, '/N)'), `Loading new save file ${name} (new xl fmt info 0x80000001/0x80000000/N)\n Savefile contains xl domain config in JSON format\n`);
  assert.equal(await state(), 'running');
  const c2 = await attach(false);
  assert.equal((await c2.run('cat /run/marker')).out.trim(), MARK);
});

test('xl save -c leaves the domain running; -p leaves it paused, and a paused one is checkpointed again and again', async () => {
  await ok('save', '-c', 'sr', 'ckpt.save');
  assert.equal(await state(), 'running');
  assert.equal((await (con as GuestConsole).run('cat /run/marker')).out.trim(), MARK);
  await ok('save', '-p', 'sr', 'paused.save');
  assert.equal(await state(), 'paused');
  // A paused domain checkpointed again and again, as Xen does (QEMU refused a machine it had saved).
  await ok('save', '-c', 'sr', 'again.save');
  // A name as long as a file's may be (its new file beside it has a short name of its own).
  await ok('save', '-c', 'sr', 's'.repeat(255));
  assert.ok(existsSync(at('s'.repeat(255))));
  assert.equal(await state(), 'paused');
  await ok('unpause', 'sr');
  assert.equal((await (con as GuestConsole).run('echo alive')).out.trim(), 'alive');
});

test('xl save -D keeps the domid in the file: the restore has it (and without -D a new one)', async () => {
  const domid = (await ok('domid', 'sr')).out.trim();
  await ok('save', '-D', 'sr', 'keep.save');
  await ok('restore', 'keep.save');
  assert.equal((await ok('domid', 'sr')).out.trim(), domid);
  await ok('save', 'sr', 'new.save');
  await ok('restore', 'new.save');
  assert.notEqual((await ok('domid', 'sr')).out.trim(), domid);
  assert.equal((await (await attach(false)).run('cat /run/marker')).out.trim(), MARK);
});

test('restore refuses what is not a dom0 save file; a save that cannot be written leaves the domain running and no file', async () => {
  writeFileSync(join(host.root, 'junk.save'), 'not a save file at all, but long enough to hold a header of 48 bytes', { mode: 0o600 });
  let r = await xlIn(host, host.root, 'restore', 'junk.save');
  assert.equal(r.code, 1);
  assert.match(r.err, /^File has wrong magic number - corrupt or for a different tool\?\n/);
  const xen = Buffer.alloc(56);
  xen.write('Xen saved domain, xl format\n \0 \r', 0, 'latin1');
  xen.writeUInt32LE(0x01020304, 32);
  xen.writeUInt32LE(0x3, 36);
  xen.writeUInt32LE(8, 44);
  writeFileSync(join(host.root, 'xen.save'), xen, { mode: 0o600 });
  r = await xlIn(host, host.root, 'restore', 'xen.save');
  assert.equal(r.code, 1);
  assert.match(r.err, /Savefile '.*xen\.save' holds a Xen \(libxl\) domain stream\nhint: /);
  // Xen before 4.6: the JSON flag alone (libxc's legacy stream follows).
  xen.writeUInt32LE(0x1, 36);
  writeFileSync(join(host.root, 'xen.save'), xen, { mode: 0o600 });
  r = await xlIn(host, host.root, 'restore', 'xen.save');
  assert.match(r.err, /Savefile '.*xen\.save' holds a Xen \(libxl\) domain stream\nhint: /);
  // A config of more than 1 MiB is read whole (it was cut at 1 MiB: "truncated").
  const big = saveFileHeader(JSON.stringify({ c_info: { name: 'big', padding: 'p'.repeat(2 << 20) } }));
  writeFileSync(join(host.root, 'big.save'), Buffer.concat([big, Buffer.alloc(64)]), { mode: 0o600 });
  r = await xlIn(host, host.root, 'restore', 'big.save');
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.err, /truncated/);
  // The file's, in one line naming it (before: the API's schema error and a hint to its schema).
  assert.match(r.err, /Savefile '.*big\.save' is corrupt: its config at \/c_info\/padding is not a field here/);
  assert.doesNotMatch(r.err, /API|openapi/);
  r = await xlIn(host, host.root, 'restore', 'no-such.save');
  assert.match(r.err, /^Cannot open save file '.*no-such\.save': No such file or directory\n/);
  // A save file another user could have written: its config names programs dom0 runs as root.
  writeFileSync(join(host.root, 'foreign.save'), readFileSync(join(host.root, 'ckpt.save')));
  lchownSync(join(host.root, 'foreign.save'), 1000, 1000);
  r = await xlIn(host, host.root, 'restore', 'foreign.save');
  assert.equal(r.code, 1);
  assert.match(r.err, /^Cannot open save file '.*foreign\.save': it belongs to uid 1000\nhint: a save file holds its domain's config/);
  lchownSync(join(host.root, 'foreign.save'), 0, 0);
  chmodSync(join(host.root, 'foreign.save'), 0o620);
  r = await xlIn(host, host.root, 'restore', 'foreign.save');
  assert.match(r.err, /^Cannot open save file '.*foreign\.save': it is writable by its group \(mode 620\)\n/);
  r = await xlIn(host, host.root, 'save', 'sr', 'no/such/dir/sr.save');
  assert.equal(r.code, 1, r.err);
  // It named the temporary beside the file, in Node's words.
  assert.match(r.err, /^Cannot write save file '.*no\/such\/dir\/sr\.save': No such file or directory\nhint: /);
  assert.equal(await state(), 'running');
  assert.equal((await (con as GuestConsole).run('echo still')).out.trim(), 'still');
});

test('a save or core dump onto a device node, FIFO, directory or dangling link is refused, the node untouched; a symlink is written through', async () => {
  execFileSync('mknod', [at('null.dev'), 'c', '1', '3']);
  execFileSync('mkfifo', [at('pipe')]);
  mkdirSync(at('adir'));
  symlinkSync('nowhere', at('dangling.save'));
  // The save was renamed over the path: `xl save d /dev/full` replaced the device node with a file.
  for (const [name, kind] of [['null.dev', 'a character device'], ['pipe', 'a FIFO'], ['adir', 'a directory']] as const) {
    const r = await xlIn(host, host.root, 'save', 'sr', name);
    assert.equal(r.code, 1, name);
    assert.equal(r.err, `Cannot write save file '${at(name)}': it is ${kind}, not a file\nhint: give the path of a new or existing file: the save is written beside it and renamed into place\n`);
  }
  const dangling = await xlIn(host, host.root, 'save', 'sr', 'dangling.save');
  assert.equal(dangling.err, `Cannot write save file '${at('dangling.save')}': it is a symlink to nothing (nowhere)\nhint: give the path of a file, or make the link name one\n`);
  assert.ok(statSync(at('null.dev')).isCharacterDevice() && statSync(at('pipe')).isFIFO());
  // dom0d opened the dump's file itself first: on a FIFO that open blocked its whole event loop.
  const dump = await xlIn(host, host.root, 'dump-core', 'sr', 'pipe');
  assert.equal(dump.code, 1);
  assert.match(dump.err, /^Cannot dump the core of domain 'sr' to '.*pipe': it is a FIFO, not a file\ncore dump failed \(rc=-3\)\n/);
  // Was an HTTP 500 ("Internal error in dom0d: ENOENT ...") with a stack in dom0d's log.
  const nodir = await xlIn(host, host.root, 'dump-core', 'sr', 'no/such/dir/core');
  assert.match(nodir.err, /^Cannot dump the core of domain 'sr' to '.*no\/such\/dir\/core': No such file or directory\ncore dump failed \(rc=-3\)\n/);
  assert.equal(await state(), 'running');
  // A save renamed over a domain's own disk (a typo) destroyed the domain and its data at once.
  writeFileSync(at('data.img'), Buffer.alloc(1 << 20, 7));
  await ok('block-attach', 'sr', `format=raw,vdev=xvdb,access=rw,target=${at('data.img')}`);
  const overDisk = await xlIn(host, host.root, 'save', 'sr', 'data.img');
  assert.equal(overDisk.code, 1);
  assert.match(overDisk.err, /^Cannot write save file '.*\/data\.img': it is the image of disk xvdb of domain 'sr' \(\d+\)\n/);
  const dumpOver = await xlIn(host, host.root, 'dump-core', 'sr', 'data.img');
  assert.match(dumpOver.err, /^Cannot dump the core of domain 'sr' to '.*\/data\.img': it is the image of disk xvdb of domain 'sr' \(\d+\)\n/);
  assert.equal(readFileSync(at('data.img'))[0], 7);
  await ok('block-detach', 'sr', 'xvdb');
  const etc = await xlIn(host, host.root, 'save', '-c', 'sr', '/etc/dom0-test.save');
  assert.match(etc.err, /^Cannot write save file '\/etc\/dom0-test\.save': it is in the host's own \/etc\n/);
  assert.ok(!existsSync('/etc/dom0-test.save'));
  // dom0's own directories (its run directory: its pid file, sockets) neither; its dump directory may be written.
  const own = await xlIn(host, host.root, 'save', '-c', 'sr', join(host.runDir, 'dom0d.pid'));
  assert.match(own.err, new RegExp(`^Cannot write save file '${host.runDir}/dom0d\\.pid': it is in the host's own ${host.runDir}\n`));
  assert.equal(await state(), 'running');
  writeFileSync(at('kept.save'), 'old');
  symlinkSync('kept.save', at('link.save'));
  await ok('save', '-c', 'sr', 'link.save');
  assert.ok(lstatSync(at('link.save')).isSymbolicLink(), 'the link stays a link');
  assert.equal(readFileSync(at('kept.save')).subarray(0, 28).toString('latin1'), 'Xen saved domain, xl format\n');
  // Another user's link in a sticky world-writable directory (/tmp) is not followed: it named
  // root's files (a save replaced /usr/lib/x86_64-linux-gnu/libc.so.6; a serial log appended the
  // guest's output to /root/.ssh/authorized_keys), whatever the host's fs.protected_symlinks.
  mkdirSync(at('sticky'), { mode: 0o1777 });
  chmodSync(at('sticky'), 0o1777);
  writeFileSync(at('victim'), 'root\'s');
  symlinkSync(at('victim'), at('sticky/web.save'));
  lchownSync(at('sticky/web.save'), 1000, 1000);
  const refusal = `${at('sticky/web.save')} is another user's symlink in a sticky world-writable directory, which root does not follow\nhint: give a path no other user can point elsewhere`;
  assert.equal((await xlIn(host, host.root, 'save', '-c', 'sr', 'sticky/web.save')).err, `Cannot write save file '${at('sticky/web.save')}': ${refusal}\n`);
  assert.match((await xlIn(host, host.root, 'dump-core', 'sr', 'sticky/web.save')).err, new RegExp(`^Cannot dump the core of domain 'sr' to '.*': ${refusal.split('\n')[0] as string}\n`));
  writeFileSync(at('serial.cfg'), `name = "serial-link"\ntype = "hvm"\nmemory = 64\nvnc = 0\nserial = "file:${at('sticky/web.save')}"\n`);
  const serial = await xlIn(host, host.root, 'create', '-p', at('serial.cfg'));
  assert.equal(serial.code, 3, serial.err);
  assert.match(serial.err, new RegExp(`Cannot use ${at('sticky/web.save')} for serial port 0: ${refusal} in serial= in `));
  assert.equal(readFileSync(at('victim'), 'utf8'), 'root\'s');
  assert.equal(await state(), 'running');
  assert.equal((await (con as GuestConsole).run('echo nodes')).out.trim(), 'nodes');
  // A restore through the API of a FIFO waited for its 10-minute deadline (QEMU's reader on it).
  const started = Date.now();
  await assert.rejects(apiRequest(host.socket, 'POST', '/v1/domains', {
    config: { c_info: { type: 'pv', name: 'from-fifo' }, b_info: { max_memkb: 131072, target_memkb: 131072 } },
    restore: { file: at('pipe'), offset: 0 },
  }), (e: unknown) => e instanceof ToolstackError && e.code === 'SAVE_FILE' && /not a plain file/.test(e.message));
  assert.ok(Date.now() - started < 5000);
  // The stream's offset is taken as given, from the file dom0d opened (once: QEMU reads that open file).
  await assert.rejects(apiRequest(host.socket, 'POST', '/v1/domains', {
    config: { c_info: { type: 'pv', name: 'from-fifo' }, b_info: { max_memkb: 131072, target_memkb: 131072 } },
    restore: { file: at('kept.save'), offset: statSync(at('kept.save')).size },
  }), (e: unknown) => e instanceof ToolstackError && e.code === 'SAVE_FILE' && /ends \(\d+ bytes\) before its state stream/.test(e.message));
  assert.ok(!(await xlIn(host, host.root, 'list')).out.includes('from-fifo'));
});

test('a save onto a full file system fails with one line; the domain runs on and nothing is left there', async () => {
  mkdirSync(join(host.root, 'small'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(host.root, 'small')]);
  mounted = true;
  const r = await xlIn(host, host.root, 'save', 'sr', 'small/sr.save');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^Cannot write save file '.*small\/sr\.save': its file system is full\nhint: /);
  assert.deepEqual(readdirSync(join(host.root, 'small')), []);
  assert.equal(await state(), 'running');
  assert.equal((await (con as GuestConsole).run('echo full')).out.trim(), 'full');
});

test('dom0d killed -9 during a save: the next dom0d resumes the guest', async () => {
  const pending = xlIn(host, host.root, 'save', 'sr', 'killed.save');
  // Killed once the save is under way (its temporary file begun), not before xl reached dom0d:
  // a loaded host can take longer than any fixed delay to start xl.
  await until('the save under way', () => readdirSync(host.root).some((f) => f.startsWith('.dom0-save-')), 30_000, 5);
  process.kill(readPid(host) as number, 'SIGKILL');
  await pending;
  assert.equal(await state(), 'running');
  // The console's history replays first; a first command runs past it. A prompt the resumed
  // shell prints late may still precede the answer on its line.
  await (await attach(false)).run('true');
  assert.match((await (con as GuestConsole).run('cat /run/marker')).out.trim(), new RegExp(`^(dom0-guest# )?${MARK}$`));
});

test('a disk hot-plugged (QEMU put it after the USB controller) and mem-max raised: the restore rebuilds the machine as it was', async () => {
  // Before: "Unknown savevm section or instance '0000:00:05.0/virtio-blk'" (the config lists the
  // disk before the controller, which then took its slot), and "Size mismatch: pc.ram" (the config's
  // new maximum made a bigger machine): the restore failed and the saved domain was lost.
  // A qcow2 image: its chain is checked at each open (a save once failed on it, "reached the builder without its checked image chain").
  writeFileSync(at('hot.img'), Buffer.alloc(1 << 20, 9));
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', at('hot.img'), at('hot.qcow2')]);
  await ok('block-attach', 'sr', `format=qcow2,vdev=xvdb,access=rw,target=${at('hot.qcow2')}`);
  await ok('mem-max', 'sr', '192');
  await ok('save', 'sr', 'hot.save');
  const r = await ok('restore', 'hot.save');
  assert.match(r.err, /^Loading new save file hot\.save \(new xl fmt info 0x80000001\/0x80000000\/\d+\)\n/);
  await (await attach(false)).run('true');
  assert.match((await (con as GuestConsole).run('cat /run/marker')).out.trim(), new RegExp(`^(dom0-guest# )?${MARK}$`));
  // The guest's only virtio disk; it makes no device nodes for hot-plugged ones: one is made from sysfs.
  assert.match((await (con as GuestConsole).run('d=$(ls /sys/block | grep ^vd) && mknod /run/hot b $(tr : " " < /sys/block/$d/dev) && od -An -tx1 -N1 /run/hot')).out, /^\s*09\s*$/m);
  const domid = (await ok('domid', 'sr')).out.trim();
  const qemu = readFileSync(join(host.runDir, 'domains', domid, 'qemu.pid'), 'utf8').trim().split(/\s+/)[0] as string;
  assert.ok(readFileSync(`/proc/${qemu}/cmdline`, 'utf8').split('\0').some((a) => a === 'size=128M' || a === 'size=131080K'), 'the machine keeps its RAM until its next boot');
  assert.match((await ok('list', '-l', 'sr')).out, /"max_memkb": 196608/);
  // A forced detach that the guest (paused) has not finished: QEMU still has the disk, its config
  // not. Before, the save destroyed the domain and its restore failed ("Unknown savevm section").
  await ok('pause', 'sr');
  await ok('block-detach', '-f', 'sr', 'xvdb');
  const refused = await xlIn(host, host.root, 'save', 'sr', 'forced.save');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^Cannot save or migrate domain 'sr': its machine has device xvdb, which a machine rebuilt from its config would lack\nhint: /);
  assert.ok(!existsSync(at('forced.save')));
  assert.equal(await state(), 'paused');
  await ok('unpause', 'sr');
  await until('the guest released xvdb', async () => (await xlIn(host, host.root, 'save', '-c', 'sr', 'forced.save')).code === 0, 30_000, 500);
  assert.equal(await state(), 'running');
});
