// Disks and CD media of a running domain, on real QEMU (TCG) through `xl` and an autostarted
// dom0d. One HVM guest (the test kernel + initramfs booted directly, console COM1, an empty IDE
// CD-ROM drive hdc) is reused across the steps, which run in order:
// block-attach of a qcow2 (the guest's /proc/partitions shows it, block-list lists it, xenstore
// has libxl's nodes in state 4, `xl list -l` has it); the error paths (missing file, wrong
// format, a backing file of the host's own, an image open read-write by another domain or by another process, IDE hotplug, the
// same vdev twice) each one line that leaves nothing behind; a `phy:` loop device; a block script
// (script=) run with Xen's contract, at attach, detach, create and destroy; cd-insert of
// an ISO the guest mounts, then cd-eject; the attached disk surviving a dom0d `kill -9` and a
// guest reboot; a detach the paused guest cannot answer (timeout, then -f, then the late release
// once it runs again); block-list of several domains; block-detach (gone from the guest,
// block-list and xenstore); destroy.
// xenstore is read with Debian's xenstore-* clients (XENSTORED_PATH = the test dom0d's socket).
// At the end every domain is destroyed, dom0d stopped, the loop devices detached, and any QEMU or
// qemu-io still running from this test killed by pid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { directBootConfig, ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, pidsNaming, readPid, until, waitGone, watchEvents, xl, xlIn, xsExists as xsExistsOn, xsRead as xsReadOn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;
let loop: string | undefined;
let holder: ChildProcess | undefined;
/** The guest's console (its `serial/0/tty` socket); reopened when the domain changes. */
let con: GuestConsole | undefined;

const img = (name: string): string => join(host.root, name);

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  host.env['DOM0_RESTART_DELAY_MS'] = '100';
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  for (const d of ['data', 'other', 'held', 'spare', 'looks']) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img(`${d}.qcow2`), '32M']);
  mkdirSync(img('iso'));
  writeFileSync(img('iso/marker.txt'), 'dom0-media-marker\n');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', img('media.iso'), '-V', 'DOM0MEDIA', img('iso')]);
  writeFileSync(img('loop.img'), '');
  truncateSync(img('loop.img'), 16 << 20);
  loop = execFileSync('losetup', ['-f', '--show', img('loop.img')], { encoding: 'utf8' }).trim();
  writeFileSync(img('hp.cfg'), [
    ...directBootConfig(guests, 'hp', { hvm: true }),
    "disk = [ ',hdc:cdrom,r' ]",
  ].join('\n'));
  assert.equal((await xl(host, 'list')).code, 0);
});

after(async () => {
  con?.close();
  holder?.kill('SIGKILL');
  for (const d of await listed().catch(() => [])) await xl(host, 'destroy', String(d.domid));
  await destroyHost(host);
  for (const pid of pidsNaming(join(host.runDir, 'domains'))) process.kill(pid, 'SIGKILL');
  if (loop !== undefined) execFileSync('losetup', ['-d', loop]);
  for (const dev of loopsOf(img('scripted.img'))) execFileSync('losetup', ['-d', dev]);
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** `xl ARGS` that must fail with exit 1 and exactly `lines` (and a hint) on stderr. */
async function fails(args: readonly string[], lines: readonly (string | RegExp)[]): Promise<void> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, 1, `xl ${args.join(' ')}: ${r.err}`);
  assert.equal(r.out, '');
  const got = r.err.trimEnd().split('\n');
  assert.equal(got.length, lines.length + 1, r.err);
  lines.forEach((l, i) => (typeof l === 'string' ? assert.equal(got[i], l) : assert.match(got[i] as string, l)));
  assert.match(got[lines.length] as string, /^hint: /);
}

async function listed(): Promise<Array<{ domid: number; name: string }>> {
  const r = await xl(host, 'list', '--json');
  return (JSON.parse(r.out) as Array<{ domid: number; name: string }>).filter((d) => d.domid !== 0);
}

async function domid(name: string): Promise<number> {
  const d = (await listed()).find((x) => x.name === name);
  assert.ok(d !== undefined, `no domain ${name}`);
  return d.domid;
}

const xsRead = (path: string): string => xsReadOn(host, path);
const xsExists = (path: string): boolean => xsExistsOn(host, path);

/** The device ids under a domain's frontend `device/vbd` and its backends in Domain-0. */
function xsDisks(id: number): { front: string[]; back: string[] } {
  const dir = (p: string): string[] => (xsExists(p) ? execFileSync('xenstore-list', [p], { env: host.env, encoding: 'utf8' }).split('\n').filter((x) => x !== '') : []);
  return {
    front: dir(`/local/domain/${id}/device/vbd`).sort((a, b) => Number(a) - Number(b)),
    back: ['vbd', 'qdisk'].flatMap((k) => dir(`/local/domain/0/backend/${k}/${id}`).sort((a, b) => Number(a) - Number(b)).map((d) => `${k}/${d}`)),
  };
}

/** The rows of `xl block-list NAME` as [devid, BE, handle, state, evt-ch, ring-ref, BE-path]. */
async function blockList(name: string): Promise<string[][]> {
  const r = await ok('block-list', name);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Vdev  BE  handle state evt-ch ring-ref BE-path                       ');
  return lines.slice(1).filter((l) => l !== '').map((l) => l.trim().split(/\s+/));
}

async function storedDisks(name: string): Promise<Array<Record<string, unknown>>> {
  const r = await ok('list', '-l', name);
  return (JSON.parse(r.out) as Array<{ config: { disks?: Array<Record<string, unknown>> } }>)[0]?.config.disks ?? [];
}

/** Opens the console of domain `id` and waits for its prompt. */
async function console(id: number): Promise<GuestConsole> {
  con?.close();
  // A domain just restarted is listed before its xenstore nodes are written.
  await until('its console in xenstore', () => xsExists(`/local/domain/${id}/serial/0/tty`), 30_000, 50);
  con = await GuestConsole.connect(xsRead(`/local/domain/${id}/serial/0/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 90_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  return con;
}

/** Runs `command` in the guest's shell; resolves with what it printed (between the echo and the end mark). */
async function guest(command: string): Promise<string> {
  return (await (con as GuestConsole).run(command, 30_000)).out;
}

/** Whether `qemu-img info` (which takes QEMU's lock) can open the image: no one writes it. */
function imageOpens(name: string): boolean {
  try {
    execFileSync('qemu-img', ['info', img(name)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function partitions(): Promise<string[]> {
  return (await guest('cat /proc/partitions')).split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '').filter((n) => n !== '' && n !== 'name').sort();
}

/** The guest's block devices once they are `want` (the guest handles a hotplug event in its own time). */
async function partitionsBecome(want: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let got = await partitions();
  while (got.join() !== want.join() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    got = await partitions();
  }
  assert.deepEqual(got, want);
}

let dom = 0;

test('the boot CD-ROM drive has libxl\'s xenstore nodes, connected', async () => {
  assert.equal((await xlIn(host, host.root, 'create', '-q', 'hp.cfg')).code, 0);
  dom = await domid('hp');
  await console(dom);
  assert.deepEqual(await partitions(), ['sr0']);
  assert.deepEqual(xsDisks(dom), { front: ['5632'], back: ['qdisk/5632'] });
  const be = `/local/domain/0/backend/qdisk/${dom}/5632`;
  assert.deepEqual(
    ['params', 'mode', 'dev', 'type', 'device-type', 'removable', 'online', 'state', 'frontend', 'frontend-id'].map((k) => xsRead(`${be}/${k}`)),
    ['aio:', 'r', 'hdc', 'qdisk', 'cdrom', '1', '1', '4', `/local/domain/${dom}/device/vbd/5632`, String(dom)],
  );
  assert.deepEqual(['backend', 'backend-id', 'state', 'virtual-device', 'device-type', 'trusted'].map((k) => xsRead(`/local/domain/${dom}/device/vbd/5632/${k}`)),
    [be, '0', '4', '5632', 'cdrom', '1']);
  assert.equal(xsRead(`/libxl/${dom}/device/vbd/5632/backend`), be);
});

test('block-attach of a qcow2: the guest sees it, block-list lists it, xenstore and the stored config have it', async () => {
  const r = await ok('block-attach', 'hp', 'format=qcow2, vdev=xvde, access=rw, target=data.qcow2');
  assert.deepEqual([r.out, r.err], ['', '']);
  await partitionsBecome(['sr0', 'vda']);
  assert.deepEqual(await blockList('hp'), [
    ['5632', '0', String(dom), '4', '-1', '-1', `/local/domain/0/backend/qdisk/${dom}/5632`],
    ['51776', '0', String(dom), '4', '-1', '-1', `/local/domain/0/backend/qdisk/${dom}/51776`],
  ]);
  const be = `/local/domain/0/backend/qdisk/${dom}/51776`;
  assert.deepEqual(['params', 'mode', 'dev', 'device-type', 'discard-enable', 'state'].map((k) => xsRead(`${be}/${k}`)),
    [`qcow2:${img('data.qcow2')}`, 'w', 'xvde', 'disk', '1', '4']);
  assert.equal(xsRead(`/local/domain/${dom}/device/vbd/51776/state`), '4');
  assert.deepEqual((await storedDisks('hp')).map((d) => [d['vdev'], d['pdev_path'], d['format']]), [['hdc', '', 'empty'], ['xvde', img('data.qcow2'), 'qcow2']]);
});

test('bad attaches are one line naming the disk and the domain, and leave nothing behind', async () => {
  // Its second disk is a qcow2 image given as raw: opened as raw (never probed), with a warning.
  const other = (await xlIn(host, host.root, 'create', '-p', '-q', 'hp.cfg', 'name="other"', 'disk=["other.qcow2,qcow2,xvda,w", "looks.qcow2,raw,xvde,r"]'));
  assert.equal(other.code, 0, other.err);
  assert.equal(other.err, `Disk vdev=xvde: ${img('looks.qcow2')} begins as a qcow2 image but is opened as raw (its spec's format, raw by default): the guest sees the image's own bytes. If the host made it as qcow2, give format=qcow2 in disk= in hp.cfg\n`);
  const otherId = await domid('other');
  holder = spawn('qemu-io', ['-c', 'sleep 600000', img('held.qcow2')], { stdio: 'ignore' });
  const ADD = 'libxl_device_disk_add failed.';
  await fails(['block-attach', 'hp', 'nope.qcow2,qcow2,xvdf,w'], [`Disk vdev=xvdf of domain 'hp' failed to stat: ${img('nope.qcow2')}: No such file or directory`, ADD]);
  execFileSync('mkfifo', [img('pipe.img')]);
  await fails(['block-attach', 'hp', 'pipe.img,raw,xvdf,w'], [`Disk vdev=xvdf of domain 'hp': ${img('pipe.img')} is a FIFO, not an image file or a block device`, ADD]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', '/etc/passwd', img('passwd.qcow2'), '1M']);
  await fails(['block-attach', 'hp', 'passwd.qcow2,qcow2,xvdf,r'],
    [`Disk vdev=xvdf of domain 'hp': ${img('passwd.qcow2')} names /etc/passwd as its backing file, a file of the host's own (/etc), which an image's header does not open for a guest`, ADD]);
  await fails(['block-attach', 'hp', 'loop.img,qcow2,xvdf,w'], [`Disk vdev=xvdf of domain 'hp': qemu-img cannot read ${img('loop.img')} as qcow2: Could not open '${img('loop.img')}': Image is not in qcow2 format`, ADD]);
  await fails(['block-attach', 'hp', 'other.qcow2,qcow2,xvdf,w'], [`Disk vdev=xvdf of domain 'hp': ${img('other.qcow2')} is open read-write by domain 'other' (${otherId}, its disk xvda)`, ADD]);
  await fails(['block-attach', 'hp', 'other.qcow2,qcow2,xvdf,r'], [`Disk vdev=xvdf of domain 'hp': ${img('other.qcow2')} is open read-write by domain 'other' (${otherId}, its disk xvda)`, ADD]);
  // A lock no domain's config explains: qemu-io holds it (once it has opened the image).
  for (let i = 0; i < 100 && imageOpens('held.qcow2'); i++) await new Promise((r) => setTimeout(r, 50));
  await fails(['block-attach', 'hp', 'held.qcow2,qcow2,xvdf,w'], [`Disk vdev=xvdf of domain 'hp': ${img('held.qcow2')} is open read-write by another process (QEMU's image lock)`, ADD]);
  await fails(['block-attach', 'hp', 'spare.qcow2,qcow2,hdb,w'], ["Cannot hot-plug disk hdb into domain 'hp': on an HVM domain hdb is an emulated IDE disk, and IDE cannot hot-plug"]);
  await fails(['block-attach', 'hp', 'spare.qcow2,qcow2,xvde,w'], [`Cannot add disk xvde to domain 'hp': it has disk xvde already (devid 51776)`, ADD]);
  await fails(['block-attach', 'hp', 'spare.qcow2,qcow2,51776,w'], [/^Cannot add disk 51776 to domain 'hp': /, ADD]);
  await fails(['block-detach', 'hp', 'xvdz'], ['Error: Device xvdz not connected.']);
  // Nothing left: the same two disks everywhere, and xvdf (node drive-xvdf, device xvdf) is free in QEMU.
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
  assert.deepEqual(xsDisks(dom), { front: ['5632', '51776'], back: ['qdisk/5632', 'qdisk/51776'] });
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde']);
  assert.ok(imageOpens('spare.qcow2'));
  // A raw disk that begins like a qcow2 image is opened as raw (never probed), with a warning.
  const warned = await ok('block-attach', 'hp', 'spare.qcow2,raw,xvdf,r');
  assert.match(warned.err, new RegExp(`Disk vdev=xvdf: ${img('spare.qcow2')} begins as a qcow2 image but is opened as raw`));
  await ok('block-detach', 'hp', 'xvdf');
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdf,w');
  await ok('block-detach', 'hp', 'xvdf');
  await ok('destroy', 'other');
  holder.kill('SIGKILL');
});

test('phy: a loop device attaches with a vbd backend, and detaches', async () => {
  const dev = loop as string;
  await ok('block-attach', 'hp', `phy:${dev},xvdg,w`);
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  const be = `/local/domain/0/backend/vbd/${dom}/51808`;
  assert.deepEqual(['params', 'type', 'script', 'mode'].map((k) => xsRead(`${be}/${k}`)), [dev, 'phy', join(host.root, 'etc', 'scripts', 'block'), 'w']);
  await ok('block-detach', 'hp', '51808');
  assert.deepEqual(await partitions(), ['sr0', 'vda']);
  assert.equal(xsExists(be), false);
});

/** The loop devices backed by `file` (`losetup -j`). */
function loopsOf(file: string): string[] {
  return execFileSync('losetup', ['-j', file], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map((l) => l.slice(0, l.indexOf(':')));
}

/** What the test block scripts logged, one line per run. */
function scriptLog(): string[] {
  try {
    return readFileSync(img('block-script.log'), 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

test('script=: Xen\'s block script contract; the guest gets the device the script made, remove runs on detach; a failing or missing script is one line', async () => {
  const scripts = join(host.root, 'etc', 'scripts');
  const path = `${scripts}/block-testloop`;
  const disk = img('scripted.img');
  writeFileSync(disk, 'dom0-script-marker\n');
  truncateSync(disk, 8 << 20);
  const ADD = 'libxl_device_disk_add failed.';
  const be = `/local/domain/0/backend/vbd/${dom}/51840`;
  await fails(['block-attach', 'hp', `vdev=xvdi, access=rw, script=block-testloop, target=${disk}`], [`Disk vdev=xvdi of domain 'hp': its block script ${path} does not exist`, ADD]);
  assert.equal(xsExists(be), false);
  mkdirSync(scripts, { recursive: true });
  // As Xen's block scripts are written: the action as argument, xenstore through XENBUS_PATH.
  writeFileSync(path, [
    '#!/bin/sh',
    `echo "$1 script=$script XENBUS_TYPE=$XENBUS_TYPE XENBUS_PATH=$XENBUS_PATH XENBUS_BASE_PATH=$XENBUS_BASE_PATH" >>${img('block-script.log')}`,
    'case "$1" in',
    'add)',
    '  file=$(xenstore-read "$XENBUS_PATH/params") || exit 1',
    '  dev=$(losetup -f --show "$file") || exit 1',
    '  xenstore-write "$XENBUS_PATH/physical-device" "$(stat -L -c %t:%T "$dev")" "$XENBUS_PATH/physical-device-path" "$dev" "$XENBUS_PATH/hotplug-status" connected',
    '  ;;',
    'remove)',
    '  losetup -d "$(xenstore-read "$XENBUS_PATH/physical-device-path")"',
    '  ;;',
    'esac',
  ].join('\n'), { mode: 0o755 });
  writeFileSync(`${scripts}/block-fail`, [
    '#!/bin/sh',
    `echo "fail $1" >>${img('block-script.log')}`,
    '[ "$1" = add ] && xenstore-write "$XENBUS_PATH/hotplug-error" "no such target: $(xenstore-read "$XENBUS_PATH/params")" "$XENBUS_PATH/hotplug-status" error && exit 1',
    'exit 0',
  ].join('\n'), { mode: 0o755 });

  await ok('block-attach', 'hp', `vdev=xvdi, access=rw, script=block-testloop, target=${disk}`);
  const [dev] = loopsOf(disk);
  assert.ok(dev !== undefined, 'the script made a loop device of the image');
  assert.deepEqual(scriptLog(), [`add script=${path} XENBUS_TYPE=vbd XENBUS_PATH=backend/vbd/${dom}/51840 XENBUS_BASE_PATH=backend`]);
  assert.deepEqual(['params', 'script', 'type', 'physical-device-path', 'hotplug-status', 'state'].map((k) => xsRead(`${be}/${k}`)), [disk, path, 'phy', dev, 'connected', '4']);
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  assert.match(await guest('head -c 18 /dev/vdb; echo'), /dom0-script-marker/);
  await ok('block-detach', 'hp', 'xvdi');
  assert.deepEqual(await partitions(), ['sr0', 'vda']);
  assert.equal(scriptLog()[1], `remove script=${path} XENBUS_TYPE=vbd XENBUS_PATH=backend/vbd/${dom}/51840 XENBUS_BASE_PATH=backend`);
  assert.deepEqual(loopsOf(disk), []);
  assert.equal(xsExists(be), false);

  await fails(['block-attach', 'hp', 'vdev=xvdi, access=rw, script=block-fail, target=iqn.2024-01.test:none'],
    [`Disk vdev=xvdi of domain 'hp': block script ${scripts}/block-fail add: it failed: no such target: iqn.2024-01.test:none`, ADD]);
  assert.deepEqual(scriptLog().slice(2), ['fail add', 'fail remove']);
  assert.equal(xsExists(be), false);
  // What a script reports is checked as a phy: disk is: a block device (not a host file).
  writeFileSync(`${scripts}/block-file`, [
    '#!/bin/sh',
    '[ "$1" = add ] && xenstore-write "$XENBUS_PATH/physical-device-path" /etc/passwd "$XENBUS_PATH/hotplug-status" connected',
    'exit 0',
  ].join('\n'), { mode: 0o755 });
  await fails(['block-attach', 'hp', 'vdev=xvdi, access=ro, script=block-file, target=anything'],
    [`Disk vdev=xvdi of domain 'hp': block script ${scripts}/block-file add: it reported /etc/passwd, which is not a block device`, ADD]);
  assert.equal(xsExists(be), false);
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde']);

  // At create: the script runs before QEMU opens the disk; its nodes stay in the domain's layout for remove at destroy.
  const created = await xlIn(host, host.root, 'create', '-p', '-q', 'hp.cfg', 'name="scripted"', `disk=["vdev=xvda, access=rw, script=block-testloop, target=${disk}"]`);
  assert.equal(created.code, 0, created.err);
  const sid = await domid('scripted');
  const [bootDev] = loopsOf(disk);
  assert.ok(bootDev !== undefined);
  assert.equal(xsRead(`/local/domain/0/backend/vbd/${sid}/51712/physical-device-path`), bootDev);
  await ok('destroy', 'scripted');
  assert.deepEqual(scriptLog().slice(4).map((l) => l.split(' ')[0]), ['add', 'remove']);
  assert.deepEqual(loopsOf(disk), []);

  // dom0d killed -9 while a script's add runs: the restarted dom0d finishes the attach it left
  // (the record says which): the disk, never connected, is taken out, its script's remove run.
  writeFileSync(`${scripts}/block-slow`, readFileSync(path, 'utf8').replace(/^(  xenstore-write .*)$/m, '$1\n  sleep 5'), { mode: 0o755 });
  const slow = await xlIn(host, host.root, 'create', '-p', '-q', 'hp.cfg', 'name="slow"', 'disk=[]');
  assert.equal(slow.code, 0, slow.err);
  const slowId = await domid('slow');
  const attach = xlIn(host, host.root, 'block-attach', 'slow', `vdev=xvdi, access=rw, script=block-slow, target=${disk}`);
  // Once the script has said which device it made (before that, its own remove could not find it).
  await until('the slow script reported its loop device', () => xsExists(`/local/domain/0/backend/vbd/${slowId}/51840/physical-device-path`));
  process.kill(readPid(host) as number, 'SIGKILL');
  assert.notEqual((await attach).code, 0);
  await ok('list');
  await console(dom); // the console connection went with dom0d
  assert.deepEqual(loopsOf(disk), []);
  assert.deepEqual(await blockList('slow'), []);
  assert.equal(xsExists(`/local/domain/0/backend/vbd/${slowId}/51840`), false);
  assert.equal(xsExists(`/local/domain/${slowId}/device/vbd/51840`), false);
  assert.deepEqual((await storedDisks('slow')).map((d) => d['vdev']), []);
  await ok('destroy', 'slow');
});

test('a block-attach QEMU does not answer (stopped) fails in one line, and what QEMU does once it runs again is undone', async () => {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img('frozen.qcow2'), '16M']);
  const created = await xlIn(host, host.root, 'create', '-p', '-q', 'hp.cfg', 'name="frozen"', 'disk=[]');
  assert.equal(created.code, 0, created.err);
  const id = await domid('frozen');
  const [qemu] = pidsNaming(join(host.runDir, 'domains', String(id), ''));
  assert.ok(qemu !== undefined);
  process.kill(qemu, 'SIGSTOP');
  try {
    await fails(['block-attach', 'frozen', 'frozen.qcow2,qcow2,xvde,w'],
      ["Cannot add disk xvde to domain 'frozen': QMP command 'blockdev-add' got no answer within 5000 ms: QEMU is not responding", 'libxl_device_disk_add failed.']);
  } finally {
    process.kill(qemu, 'SIGCONT');
  }
  // QEMU ran the queued blockdev-add, then the undo's blockdev-del: the image is free again.
  await until('QEMU let go of the image', () => imageOpens('frozen.qcow2'));
  assert.deepEqual(await blockList('frozen'), []);
  await ok('block-attach', 'frozen', 'frozen.qcow2,qcow2,xvde,w');
  assert.deepEqual((await blockList('frozen')).map((row) => row[0]), ['51776']);
  await ok('destroy', 'frozen');
});

test('cd-insert: the guest reads the ISO from its drive; cd-eject empties it', async () => {
  await fails(['cd-insert', 'hp', 'hdc', 'nope.iso'], ['Cannot stat file: nope.iso']);
  await fails(['cd-insert', 'hp', 'xvde', 'media.iso'], ["Cannot change the medium of xvde in domain 'hp': Virtual device not found"]);
  await ok('cd-insert', 'hp', 'hdc', 'media.iso');
  assert.equal(xsRead(`/local/domain/0/backend/qdisk/${dom}/5632/params`), `aio:${img('media.iso')}`);
  assert.equal(xsRead(`/libxl/${dom}/device/vbd/5632/params`), `aio:${img('media.iso')}`);
  assert.equal((await storedDisks('hp'))[0]?.['pdev_path'], img('media.iso'));
  const read = await guest('mkdir -p /mnt; for i in 1 2 3 4 5 6 7 8 9 10; do mount -t iso9660 -o ro /dev/sr0 /mnt 2>/dev/null && break; sleep 1; done; cat /mnt/marker.txt; umount /mnt');
  assert.match(read, /dom0-media-marker/);
  await ok('cd-eject', 'hp', 'hdc');
  assert.equal(xsRead(`/local/domain/0/backend/qdisk/${dom}/5632/params`), 'aio:');
  assert.deepEqual(((await storedDisks('hp'))[0] ?? {})['format'], 'empty');
  assert.match(await guest('dd if=/dev/sr0 of=/dev/null bs=2048 count=1'), /No medium found/);
});

test('the attached disk is the domain\'s: it survives a dom0d kill -9 and a guest reboot', async () => {
  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await waitGone(dom0d);
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde']);
  await ok('reboot', 'hp');
  const deadline = Date.now() + 60_000;
  while ((await listed()).find((d) => d.name === 'hp')?.domid === dom && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const next = await domid('hp');
  assert.notEqual(next, dom);
  dom = next;
  await console(dom);
  await partitionsBecome(['sr0', 'vda']);
  assert.deepEqual((await blockList('hp')).map((row) => [row[0], row[3]]), [['5632', '4'], ['51776', '4']]);
  assert.equal(xsRead(`/local/domain/0/backend/qdisk/${dom}/51776/params`), `qcow2:${img('data.qcow2')}`);
});

test('block-detach waits for the guest: a paused guest times out (the disk stays), -f removes it, the late release frees the image', async () => {
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  await ok('pause', 'hp');
  await fails(['block-detach', 'hp', 'xvdh'], ["Cannot remove disk xvdh from domain 'hp': the guest did not release it within 10 s", 'libxl_device_disk_safe_remove failed.']);
  assert.deepEqual((await blockList('hp')).map((row) => [row[0], row[3]]), [['5632', '4'], ['51776', '4'], ['51824', '4']]);
  assert.equal(xsRead(`/local/domain/0/backend/qdisk/${dom}/51824/online`), '1');
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde', 'xvdh']);
  const forced = await ok('block-detach', '-f', 'hp', 'xvdh');
  assert.deepEqual([forced.out, forced.err], ['', '']);
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
  assert.deepEqual(xsDisks(dom), { front: ['5632', '51776'], back: ['qdisk/5632', 'qdisk/51776'] });
  assert.equal(xsExists(`/libxl/${dom}/device/vbd/51824`), false);
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde']);
  assert.equal(imageOpens('spare.qcow2'), false, 'the paused guest still has the disk');
  // Held by the guest, it still takes its vdev and image: before, dom0d forgot it (QEMU's
  // "Duplicate nodes", or another domain's attach failed on QEMU's lock, naming nothing).
  const again = await xlIn(host, host.root, 'block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  assert.equal(again.code, 1);
  assert.match(again.err, /^Disk vdev=xvdh of domain 'hp': \S+spare\.qcow2 is open read-write by this domain \(its disk xvdh\)\n/);
  // A dom0d restarted meanwhile knows it too, and hears its release (before, the next dom0d
  // listened only for the config's devices: the disk held its vdev and image until destroy).
  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await waitGone(dom0d);
  const still = await xlIn(host, host.root, 'block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  assert.match(still.err, /is open read-write by this domain \(its disk xvdh\)\n/);
  await ok('unpause', 'hp');
  await console(dom); // the console the killed dom0d served
  await partitionsBecome(['sr0', 'vda']);
  for (let i = 0; i < 200 && !imageOpens('spare.qcow2'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(imageOpens('spare.qcow2'), 'QEMU let go of the image once the guest released the disk');
  // Its name is free again: the same vdev attaches, and detaches even when QEMU does not answer
  // the request (stopped): the request runs once it does, and the guest's release is a late one.
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  const [qemu] = pidsNaming(join(host.runDir, 'domains', String(dom), ''));
  assert.ok(qemu !== undefined);
  process.kill(qemu, 'SIGSTOP');
  try {
    await fails(['block-detach', 'hp', 'xvdh'], [/^Cannot remove disk xvdh from domain 'hp': QMP command 'device_del' got no answer within 5000 ms: QEMU is not responding$/, 'libxl_device_disk_safe_remove failed.']);
  } finally {
    process.kill(qemu, 'SIGCONT');
  }
  await until('the guest released xvdh', async () => (await storedDisks('hp')).length === 2);
  await partitionsBecome(['sr0', 'vda']);
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
  await until('QEMU let go of spare.qcow2', () => imageOpens('spare.qcow2'));

  // dom0d killed -9 during a detach the (paused) guest has not answered: the restarted dom0d
  // asks again (the record says a detach was under way); the disk stays while the guest holds
  // it, and its release once the guest runs finishes the detach (it was never seen: the disk
  // stayed in the config and held its image until the domain rebooted).
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  await ok('pause', 'hp');
  const detach = xlIn(host, host.root, 'block-detach', 'hp', 'xvdh');
  await until('the detach began', () => xsRead(`/local/domain/0/backend/qdisk/${dom}/51824/state`) === '5');
  await new Promise((r) => setTimeout(r, 500));
  process.kill(readPid(host) as number, 'SIGKILL');
  assert.notEqual((await detach).code, 0);
  assert.deepEqual((await blockList('hp')).map((row) => [row[0], row[3]]), [['5632', '4'], ['51776', '4'], ['51824', '4']]);
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde', 'xvdh']);
  await ok('unpause', 'hp');
  await console(dom); // the console connection went with dom0d
  await until('the guest released xvdh after the restart', async () => (await storedDisks('hp')).length === 2);
  await partitionsBecome(['sr0', 'vda']);
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
  await until('QEMU let go of spare.qcow2', () => imageOpens('spare.qcow2'));
});

test('a disk the guest ejects itself (ACPI), with dom0d there and while none runs: gone from block-list, xenstore and the config, its image let go; its vdev attaches again', async () => {
  // The slot of vdb's PCI device powered off from inside: QEMU removes the device, no xl asked.
  const eject = 'a=$(basename $(readlink -f /sys/block/vdb/device/..)); for s in /sys/bus/pci/slots/*; do [ "$(cat $s/address).0" = "$a" ] && echo 0 > $s/power && echo ejected; done';
  const ejected = async (what: string): Promise<void> => {
    // Before, the record, xenstore and block-list kept the disk, and its image stayed QEMU's.
    await until(what, async () => (await storedDisks('hp')).length === 2);
    assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde']);
    assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632', '51776']);
    assert.deepEqual(xsDisks(dom), { front: ['5632', '51776'], back: ['qdisk/5632', 'qdisk/51776'] });
    await until('QEMU let go of spare.qcow2', () => imageOpens('spare.qcow2'));
  };
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  assert.match(await guest(eject), /^ejected\s*$/m);
  await partitionsBecome(['sr0', 'vda']);
  await ejected('the guest\'s eject seen');
  // Again, 2 s after dom0d is killed: the next dom0d finds the machine without it.
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  await guest(`{ (sleep 2; ${eject}) >/dev/null 2>&1 & }`);
  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await waitGone(dom0d);
  await new Promise((r) => setTimeout(r, 4000));
  await ejected('the eject found by the next dom0d');
  await console(dom);
  await partitionsBecome(['sr0', 'vda']);
  await ok('block-attach', 'hp', 'spare.qcow2,qcow2,xvdh,w');
  await partitionsBecome(['sr0', 'vda', 'vdb']);
  await ok('block-detach', 'hp', 'xvdh');
  await partitionsBecome(['sr0', 'vda']);
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc', 'xvde']);
});

test('block-list: several domains, a name that is no domain is reported and skipped, a free domid lists nothing', async () => {
  const r = await xlIn(host, host.root, 'block-list', 'hp', 'nosuch', '4242');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, 'nosuch is an invalid domain identifier\n');
  assert.deepEqual(r.out.split('\n').slice(1).filter((l) => l !== '').map((l) => l.split(/\s+/)[0]), ['5632', '51776']);
  assert.equal((await xlIn(host, host.root, 'block-list')).code, 2);
});

test('vkb-attach: a virtio keyboard the guest sees, vkb-list lists it, vkb-detach removes it; vtpm, vsnd and vdispl answer that no back-end exists', async () => {
  const keyboards = async (): Promise<number> => {
    const out = await guest('grep -c "Virtio Keyboard" /proc/bus/input/devices');
    const n = /^(\d+)\r?$/m.exec(out);
    assert.ok(n !== null, out);
    return Number(n[1]);
  };
  const before = await keyboards();
  // The event feed (over the Unix socket) reports the device coming and going.
  const events = watchEvents(host);
  await ok('vkb-attach', 'hp', 'backend-type=qemu', 'unique-id=kb, [1]');
  const id = await domid('hp');
  for (let i = 0; i < 100 && await keyboards() === before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await keyboards(), before + 1, 'the guest has one more virtio keyboard');
  const list = (await ok('vkb-list', 'hp')).out.split('\n');
  assert.equal(list[0], 'Idx BE handle state evt-ch    ref ID         BE-type    BE-path                       ');
  assert.equal(list[1], '0   0       0     4     -1     -1 kb, [1]    qemu       -                             ');
  const stored = JSON.parse((await ok('list', '-l', 'hp')).out) as Array<{ config: { vkbs?: Array<{ unique_id?: string }> } }>;
  assert.deepEqual(stored[0]?.config.vkbs?.map((k) => k.unique_id), ['kb, [1]']);
  await fails(['vkb-attach', 'hp', 'unique-id=x'], ['backend-type should be set in vkb spec']);
  await fails(['vkb-detach', 'hp', '7'], ['Error: Device 7 not connected.']);
  await ok('vkb-detach', 'hp', '0');
  assert.equal(await keyboards(), before, 'the keyboard left the guest');
  const seen = await until('the device events', () => {
    const text = events.text();
    return /event: device-attached\ndata: \{[^\n]*"kind":"vkbd","devid":0/.test(text) && /event: device-detached\ndata: \{[^\n]*"kind":"vkbd","devid":0/.test(text) ? text : undefined;
  }, 10_000).finally(() => events.close());
  assert.match(seen, /"name":"hp"/);
  assert.equal((await ok('vkb-list', 'hp')).out.split('\n').filter((l) => l !== '').length, 1);

  await fails(['vtpm-attach', 'hp'], [`Cannot add a vtpm device to domain 'hp': there is no vTPM back-end in dom0 (swtpm is not installed)`, 'libxl_device_vtpm_add failed.']);
  assert.equal((await ok('vtpm-list', 'hp')).out, 'Idx BE Uuid                                 handle state evt-ch ring-ref BE-path   \n');
  await fails(['vtpm-detach', 'hp', '0'], ['Unknown device 0.']);
  await fails(['vsnd-attach', 'hp', 'CARD, short-name=Main'], [`Cannot add a vsnd device to domain 'hp': there is no PV sound back-end in dom0`, 'libxl_device_vsnd_add failed.']);
  assert.equal((await ok('vsnd-list', 'hp')).out, '');
  await fails(['vdispl-detach', 'hp', '0'], ['Error: Device 0 not connected.']);
  await fails(['vdispl-attach', 'nosuch'], ['nosuch is an invalid domain identifier (rc=-6)']);
  assert.equal(id, await domid('hp'));
});

test('block-detach: gone from the guest, block-list, xenstore and the config; destroy removes every node', async () => {
  await ok('block-detach', 'hp', 'xvde');
  assert.deepEqual(await partitions(), ['sr0']);
  assert.deepEqual((await blockList('hp')).map((row) => row[0]), ['5632']);
  assert.deepEqual(xsDisks(dom), { front: ['5632'], back: ['qdisk/5632'] });
  assert.equal(xsExists(`/libxl/${dom}/device/vbd/51776`), false);
  assert.deepEqual((await storedDisks('hp')).map((d) => d['vdev']), ['hdc']);
  assert.ok(imageOpens('data.qcow2'), 'QEMU let go of the image');
  await ok('destroy', 'hp');
  assert.equal(xsExists('/local/domain/0/backend'), false);
  assert.equal(xsExists(`/local/domain/${dom}`), false);
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
});
