// The article's configs end to end ("The Xen way", examples/article/), on real QEMU (TCG) through
// `xl` and an autostarted dom0d inside a network namespace this test makes (bridges xenbr0 and
// xenapi, as the configs name them). Each config is used as written, with only its file paths
// pointed at the project's test images:
// - windows.cfg: `phy:` on an LVM-style path (a symlink VG/LV to a loop device, as
//   /dev/vg0/windows is to a device-mapper node) and the install ISO. boot="dc" boots the
//   installer ISO, which writes a bootable system onto the empty disk and powers off; the same
//   config with boot="c" then boots from that disk; its VNC server listens on 0.0.0.0.
// - freebsd.cfg and linux-debug.cfg: `tap:qcow2:` images made with qemu-img, booted from disk,
//   their vif a tap on their bridge with the config's MAC.
// - legacy-xm-hvm.cfg: the Python-style xm config (imports, if/else, device_model) boots too.
// The configs without `serial=` get `serial="pty"` on xl's command line, so that the test can
// watch the guest's console. In the end every domain is destroyed, dom0d stopped, the loop device
// detached and the namespace removed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, pidsNaming, until, xlIn, xsRead as xsReadOn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

const NS = `dom0art${process.pid}`;
const ARTICLE = join(import.meta.dirname, '..', '..', '..', 'examples', 'article');

let host: TestHost;
let guests: GuestImages;
let loop: string | undefined;
let con: GuestConsole | undefined;

const file = (name: string): string => join(host.root, name);

before(async () => {
  guests = ensureGuests();
  execFileSync('ip', ['netns', 'add', NS]);
  for (const br of ['xenbr0', 'xenapi']) {
    inNs('ip', 'link', 'add', br, 'type', 'bridge');
    inNs('ip', 'link', 'set', br, 'up');
  }
  host = makeHost({ netns: NS });
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  // The Windows disk: an empty 64 MiB block device at an LVM-style path.
  writeFileSync(file('windows.lv'), '');
  truncateSync(file('windows.lv'), 64 << 20);
  loop = execFileSync('losetup', ['-f', '--show', file('windows.lv')], { encoding: 'utf8' }).trim();
  mkdirSync(file('dev/vg0'), { recursive: true });
  symlinkSync(loop, file('dev/vg0/windows'));
  for (const qcow of ['vm_image.img', 'debian_amd64_standard.qcow2']) execFileSync('qemu-img', ['convert', '-O', 'qcow2', guests.disk, file(qcow)]);
  mkdirSync(file('images'));
  execFileSync('cp', ['--sparse=always', guests.disk, file('images/min-el3-i386.img')]);
  article('windows.cfg', { '/dev/vg0/windows': file('dev/vg0/windows'), '/media/windows.iso': guests.installer });
  article('freebsd.cfg', { '/media/vm_image.img': file('vm_image.img'), '/media/FreeBSD-10.2-RELEASE-amd64-disc1.iso': guests.cdrom });
  article('linux-debug.cfg', { '/media/debian_amd64_standard.qcow2': file('debian_amd64_standard.qcow2') });
  article('legacy-xm-hvm.cfg', { '/var/images/min-el3-i386.img': file('images/min-el3-i386.img') });
  assert.equal((await xl('list')).code, 0);
});

after(async () => {
  con?.close();
  for (const d of await listed().catch(() => [])) await xl('destroy', String(d.domid));
  await destroyHost(host);
  for (const pid of pidsNaming(host.root)) process.kill(pid, 'SIGKILL');
  if (loop !== undefined) execFileSync('losetup', ['-d', loop]);
  execFileSync('ip', ['netns', 'del', NS]);
});

/** Copies the article's config `name` into the test's directory with `paths` replaced. */
function article(name: string, paths: Readonly<Record<string, string>>): void {
  let text = readFileSync(join(ARTICLE, name), 'utf8');
  for (const [from, to] of Object.entries(paths)) {
    assert.ok(text.includes(from), `${name} names ${from}`);
    text = text.replaceAll(from, to);
  }
  writeFileSync(file(name), text);
}

function inNs(...argv: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...argv], { encoding: 'utf8' });
}

function xl(...args: string[]): Promise<Run> {
  return xlIn(host, host.root, ...args);
}

async function ok(...args: string[]): Promise<Run> {
  const r = await xl(...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

async function listed(): Promise<Array<{ domid: number; name: string }>> {
  return (JSON.parse((await xl('list', '--json')).out) as Array<{ domid: number; name: string }>).filter((d) => d.domid !== 0);
}

/** Creates the domain of `cfg` (xl's `vars` after it) and opens its serial console. */
async function create(cfg: string, name: string, ...vars: string[]): Promise<number> {
  await ok('create', cfg, ...vars);
  const id = (await listed()).find((d) => d.name === name)?.domid;
  assert.ok(id !== undefined, `${name} is listed`);
  con?.close();
  con = await GuestConsole.connect(xsReadOn(host, `/local/domain/${id}/serial/0/tty`));
  return id;
}

/** Waits for the guest's shell, then checks it booted from its hard disk (not the installer). */
async function bootedFromDisk(): Promise<void> {
  const c = con as GuestConsole;
  await c.waitFor(GUEST_READY_LINE, { timeoutMs: 180_000 });
  await c.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  const r = await c.run('cat /proc/cmdline');
  assert.doesNotMatch(r.out, /dom0\.install/);
}

/** The domain's first vif tap (`vif<domid>.0`) in the namespace, as `ip -j link` shows it. */
function tapOf(id: number): { master?: string } {
  const links = JSON.parse(inNs('ip', '-j', 'link', 'show', `vif${id}.0`)) as Array<{ master?: string }>;
  return links[0] ?? {};
}

test('windows.cfg: boot="dc" runs the installer ISO onto the LVM-style phy: disk and powers off; boot="c" then boots that disk, VNC on 0.0.0.0', async () => {
  const installing = await create('windows.cfg', 'WindowsVM');
  await (con as GuestConsole).waitFor(/DOM0-GUEST-INSTALLED disk\.img on sda/, { timeoutMs: 240_000 });
  // on_poweroff="destroy" (the default): the domain goes.
  await until('the installer domain gone', async () => !(await listed()).some((d) => d.domid === installing));
  const id = await create('windows.cfg', 'WindowsVM', 'boot="c"');
  await bootedFromDisk();
  assert.equal(tapOf(id).master, 'xenbr0');
  assert.match(inNs('ss', '-Hltn'), /0\.0\.0\.0:5900\b/);
  await ok('destroy', 'WindowsVM');
});

test('freebsd.cfg: a tap:qcow2: disk boots, its vif on xenbr0 with the config\'s MAC', async () => {
  const id = await create('freebsd.cfg', 'FreeBSDVM', 'serial="pty"');
  await bootedFromDisk();
  assert.equal(tapOf(id).master, 'xenbr0');
  assert.match((await ok('network-list', 'FreeBSDVM')).out, /00:16:3e:01:ab:23/i);
  await ok('destroy', 'FreeBSDVM');
});

test('linux-debug.cfg: a tap:qcow2: disk boots, its vif on the bridge xenapi', async () => {
  const id = await create('linux-debug.cfg', 'LinuxVM', 'serial="pty"');
  await bootedFromDisk();
  assert.equal(tapOf(id).master, 'xenapi');
  await ok('destroy', 'LinuxVM');
});

test('legacy-xm-hvm.cfg: the Python-style xm config boots its file: disk', async () => {
  const id = await create('legacy-xm-hvm.cfg', 'ExampleHVMDomain');
  await bootedFromDisk();
  assert.equal(tapOf(id).master, 'xenbr0');
  await ok('destroy', 'ExampleHVMDomain');
});
