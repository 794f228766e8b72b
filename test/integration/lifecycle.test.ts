// Domains on real QEMU (TCG) through `xl` and an autostarted dom0d: the project's test guests
// (pv: direct kernel boot, console hvc0; hvm: SeaBIOS from a qcow2 overlay, console COM1) go
// through create, list, pause, unpause, reboot (new domid, same uuid), re-adoption after
// `kill -9` of dom0d, crash (`kill -9` of QEMU) → on_crash=rename-restart, shutdown -w and
// destroy, with the xenstore layout checked along the way. Also: ten parallel creates of one
// name, a missing kernel, and the article's configs with only their file paths replaced.
// One host (temp DOM0_*_DIRs) for the whole file, in a network namespace of its own with the
// bridges the article's vifs name (xenbr0, xenapi); the readiness line is read from the console
// log QEMU writes (LOG_DIR/qemu-<name>-<chardev>.log). At the end every domain is destroyed,
// dom0d stopped, any QEMU still running from this host's run directory killed by pid, and the
// namespace deleted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XenstoreClient } from '../../src/xenstore/index.js';
import { buildGuestProgram } from '../support/guest-programs.js';
import { ensureGuests, GuestConsole, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, pidsNaming, readPid, until, waitGone, xl, XL, xlIn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

interface Listed {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly state: string;
  readonly shutdownReason: string | null;
  readonly memKiB: number;
}

let host: TestHost;
let guests: GuestImages;
let xs: XenstoreClient;
const NS = `dom0life${process.pid}`;

before(async () => {
  guests = ensureGuests();
  execFileSync('ip', ['netns', 'add', NS]);
  for (const br of ['xenbr0', 'xenapi']) {
    execFileSync('ip', ['-n', NS, 'link', 'add', br, 'type', 'bridge']);
    execFileSync('ip', ['-n', NS, 'link', 'set', br, 'up']);
  }
  host = makeHost({ netns: NS });
  host.env['DOM0_RESTART_DELAY_MS'] = '100';
  // A user's extra CA bundle: dom0d starts without it (src/common/launch-env.ts), its QEMUs get it.
  writeFileSync(join(host.root, 'extra-ca.pem'), '');
  host.env['NODE_EXTRA_CA_CERTS'] = join(host.root, 'extra-ca.pem');
  writeFileSync(join(host.root, 'pv.cfg'), [
    'name = "pv1"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
    'maxmem = 160',
  ].join('\n'));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', guests.disk, join(host.root, 'hvm.qcow2')]);
  writeFileSync(join(host.root, 'hvm.cfg'), [
    'name = "hvm1"',
    'type = "hvm"',
    'memory = 128',
    'serial = "pty"',
    'vnc = 0',
    'on_crash = "rename-restart"',
    // Relative: taken against the directory xl create runs in.
    "disk = [ 'format=qcow2, vdev=hda, access=rw, target=hvm.qcow2' ]",
  ].join('\n'));
  // dom0d (autostarted) and its xenstored.
  assert.equal((await ok('list')).code, 0);
  xs = await XenstoreClient.connect(join(host.runDir, 'xenstored', 'socket'));
});

after(async () => {
  xs?.close();
  for (const d of await list().catch(() => [])) await xl(host, 'destroy', String(d.domid));
  await destroyHost(host);
  for (const pid of pidsNaming(join(host.runDir, 'domains'))) process.kill(pid, 'SIGKILL');
  execFileSync('ip', ['netns', 'del', NS]);
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xl(host, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** `xl create` from the host's directory (where the configs and the overlay are). */
function create(...args: string[]): Promise<Run> {
  return xlIn(host, host.root, 'create', ...args);
}

async function list(): Promise<Listed[]> {
  const r = await ok('list', '--json');
  return (JSON.parse(r.out) as Listed[]).filter((d) => d.domid !== 0);
}

async function find(name: string): Promise<Listed | undefined> {
  return (await list()).find((d) => d.name === name);
}

function consoleLog(name: string, chardev: string): string {
  try {
    return readFileSync(join(host.logDir, 'console', name, `${chardev}.log`), 'utf8');
  } catch {
    return '';
  }
}

/**
 * Until the guest's readiness line is in its console log after offset `from` (the log of a name
 * holds the output of every domain of that name, one after another).
 */
async function ready(name: string, chardev: string, from = 0): Promise<void> {
  await until(`${name} ${GUEST_READY_LINE}`, async () => (consoleLog(name, chardev).indexOf(GUEST_READY_LINE, from) >= 0 ? true : undefined), 60_000);
}

/** Running: `r` while a vCPU runs, `b` (blocked) while every vCPU idles, as Xen shows it. */
const RUNNING = /^(r-|-b)----$/;

function stateLetters(r: Run, name: string): string {
  const row = r.out.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(row !== undefined, r.out);
  return row.trim().split(/\s+/)[4] as string;
}

test('pv: create, pause/unpause, xenstore layout, reboot (new domid, same uuid), re-adoption, shutdown -w', async () => {
  const c = await create('pv.cfg');
  assert.equal(c.code, 0, c.err);
  assert.equal(c.err, 'Parsing config from pv.cfg\n');
  const d = await find('pv1');
  assert.ok(d !== undefined);
  assert.equal(d.state, 'running');
  await ready('pv1', 'console0');
  assert.match(stateLetters(await ok('list', 'pv1'), 'pv1'), RUNNING);

  const D = `/local/domain/${d.domid}`;
  assert.equal(await xs.readString(`${D}/name`), 'pv1');
  assert.equal(await xs.readString(`${D}/vm`), `/vm/${d.uuid}`);
  assert.equal(await xs.readString(`/vm/${d.uuid}/name`), 'pv1');
  assert.equal(await xs.readString(`${D}/memory/static-max`), String(160 * 1024));
  assert.equal(await xs.readString(`${D}/memory/target`), String(128 * 1024));
  // console/tty names a socket any outside client can open: replay first, then live; it types too.
  const tty = await xs.readString(`${D}/console/tty`);
  assert.equal(tty, join(host.runDir, 'domains', String(d.domid), 'console0.tty'));
  const outside = await GuestConsole.connect(tty);
  await outside.waitFor(GUEST_READY_LINE, { timeoutMs: 5_000 });
  const mark = outside.text.length;
  outside.send('echo outside-$((6*7))');
  await outside.waitFor('outside-42', { from: mark, timeoutMs: 10_000 });
  outside.close();
  assert.equal(await xs.readString(`/libxl/${d.domid}/type`), 'pv');
  assert.deepEqual(await xs.getPerms(`${D}/control/shutdown`), [`n${d.domid}`]);
  assert.equal(await xs.isDomainIntroduced(d.domid), true);
  const qemuPid = Number(await xs.readString(`${D}/image/device-model-pid`));
  assert.ok(readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8').includes('qemu'));
  // dom0d's own malloc setting (its launcher's DOM0D_ENV) is not passed on to the QEMUs it runs, and
  // they get the user's NODE_EXTRA_CA_CERTS, which dom0d's Node started without.
  const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const dom0dEnv = environ(readPid(host) ?? 0);
  assert.ok(dom0dEnv.includes('MALLOC_ARENA_MAX=1'));
  assert.ok(dom0dEnv.includes('NODE_EXTRA_CA_CERTS='));
  assert.ok(!environ(qemuPid).some((v) => v.startsWith('MALLOC_ARENA_MAX=') || v.startsWith('DOM0_NODE_EXTRA_CA_CERTS=')));
  assert.ok(environ(qemuPid).includes(`NODE_EXTRA_CA_CERTS=${join(host.root, 'extra-ca.pem')}`));

  await ok('pause', 'pv1');
  assert.equal(stateLetters(await ok('list', 'pv1'), 'pv1'), '--p---');
  await ok('unpause', 'pv1');
  assert.match(stateLetters(await ok('list', 'pv1'), 'pv1'), RUNNING);

  await ok('rename', 'pv1', 'pv1-renamed');
  assert.equal(await xs.readString(`${D}/name`), 'pv1-renamed');
  assert.equal(await xs.readString(`/vm/${d.uuid}/name`), 'pv1-renamed');
  assert.equal((await xl(host, 'rename', 'pv1-renamed', 'Domain-0')).err, 'Domain with name "Domain-0" already exists.\nhint: choose another name, or destroy the existing domain first\n');
  await ok('rename', 'pv1-renamed', 'pv1');

  const beforeReboot = consoleLog('pv1', 'console0').length;
  const rb = await ok('reboot', '-ww', 'pv1');
  assert.match(rb.err, new RegExp(`^Rebooting domain ${d.domid}\nWaiting for 1 domains\n(Domain ${d.domid} continue waiting for death\n)?Domain ${d.domid} has been destroyed\n$`));
  const d2 = await until('the restarted pv1', async () => find('pv1'));
  assert.notEqual(d2.domid, d.domid);
  assert.equal(d2.uuid, d.uuid);
  assert.equal(await xs.exists(D), false);
  assert.equal(await xs.isDomainIntroduced(d.domid), false);
  await ready('pv1', 'console0', beforeReboot);

  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await waitGone(dom0d);
  const after = await find('pv1');
  xs.close();
  xs = await XenstoreClient.connect(join(host.runDir, 'xenstored', 'socket'));
  assert.notEqual(readPid(host), dom0d);
  assert.deepEqual(after && { domid: after.domid, uuid: after.uuid, state: after.state }, { domid: d2.domid, uuid: d.uuid, state: 'running' });
  await ok('pause', 'pv1');
  await ok('unpause', 'pv1');

  // -w: until shut down (or gone, if on_poweroff=destroy was quicker than the poll).
  const sd = await ok('shutdown', '-w', 'pv1');
  assert.match(sd.err, new RegExp(`^Shutting down domain ${d2.domid}\nWaiting for 1 domains\nDomain ${d2.domid} has been (shut down, reason code 0|destroyed)\n$`));
  await until('pv1 destroyed (on_poweroff)', async () => ((await find('pv1')) === undefined ? true : undefined));
  assert.match(consoleLog('pv1', 'console0'), /DOM0-GUEST-POWEROFF/);
  assert.equal(await find('pv1'), undefined);
  assert.equal(await xs.exists(`/local/domain/${d2.domid}`), false);
  assert.equal(existsSync(join(host.runDir, 'domains', String(d2.domid))), false);
});

test('hvm: serial console; QEMU killed → on_crash=rename-restart keeps the old domain, starts a new one', async () => {
  const c = await create('-q', 'hvm.cfg');
  assert.equal(c.code, 0, c.err);
  const d = await find('hvm1');
  assert.ok(d !== undefined);
  await ready('hvm1', 'serial0');
  assert.equal(await xs.readString(`/local/domain/${d.domid}/serial/0/tty`), join(host.runDir, 'domains', String(d.domid), 'serial0.tty'));
  const pid = Number(await xs.readString(`/local/domain/${d.domid}/image/device-model-pid`));
  // Both crashes within one minute (the preserved name's): not in a minute's last 35 s.
  const second = new Date().getSeconds();
  if (second >= 25) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
  process.kill(pid, 'SIGKILL');
  const fresh = await until('the restarted hvm1', async () => {
    const x = await find('hvm1');
    return x !== undefined && x.domid !== d.domid ? x : undefined;
  });
  assert.equal(fresh.uuid, d.uuid);
  const kept = (await list()).find((x) => x.domid === d.domid);
  assert.ok(kept !== undefined);
  assert.match(kept.name, /^hvm1-\d{8}T\d{4}Z$/);
  assert.notEqual(kept.uuid, d.uuid);
  assert.deepEqual([kept.state, kept.shutdownReason], ['shutdown', 'crash']);
  assert.equal(stateLetters(await ok('list'), kept.name), '---sc-');
  assert.equal(await xs.readString(`/local/domain/${d.domid}/name`), kept.name);
  // A second crash within the minute: its preserved name is taken, so (as xl's monitor) the
  // domain stays shut down under its name and is not restarted; dom0d, killed, starts again.
  process.kill(Number(await xs.readString(`/local/domain/${fresh.domid}/image/device-model-pid`)), 'SIGKILL');
  await until('hvm1 crashed again', async () => ((await find('hvm1'))?.state === 'shutdown' ? true : undefined));
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual((await list()).filter((x) => x.name.startsWith('hvm1')).map((x) => [x.domid, x.state]).sort(),
    [[d.domid, 'shutdown'], [fresh.domid, 'shutdown']].sort());
  process.kill(readPid(host) as number, 'SIGKILL');
  assert.equal((await find('hvm1'))?.domid, fresh.domid);
  xs.close();
  xs = await XenstoreClient.connect(join(host.runDir, 'xenstored', 'socket'));
  await ok('destroy', 'hvm1');
  await ok('destroy', kept.name);
  assert.deepEqual(await list(), []);
});

/** Types `line` on the domain's console through `xl console` (dom0d holds the console socket). */
async function typeOn(name: string, line: string): Promise<void> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(XL, ['console', name], { env: host.env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', resolve);
    child.stdin.write(`${line}\r`);
    setTimeout(() => child.stdin.end(), 1000);
  });
  assert.notEqual(code, null);
}

test('pv: a guest panic (pvpanic) is a crash: on_crash=coredump-destroy dumps its memory to STATE_DIR/dump/<name>', async () => {
  const c = await create('-q', 'pv.cfg', 'name="pp"', 'on_crash="coredump-destroy"');
  assert.equal(c.code, 0, c.err);
  await ready('pp', 'console0');
  await typeOn('pp', 'panic');
  await until('pp destroyed (on_crash)', async () => ((await find('pp')) === undefined ? true : undefined));
  assert.match(consoleLog('pp', 'console0'), /Kernel panic/);
  const dump = readFileSync(join(host.stateDir, 'dump', 'pp'));
  assert.equal(dump.subarray(0, 4).toString('latin1'), '\x7fELF');
  assert.ok(dump.length >= 128 * 1024 * 1024);
});

test('a guest flooding its QEMU\'s events (pvpanic\'s port written 200,000 times) does not stop dom0d, nor hide the events it acts on', async () => {
  // The program on a raw disk of its own, copied into the guest's memory there.
  const program = readFileSync(buildGuestProgram(host.root, 'port-flood'));
  const image = join(host.root, 'port-flood.img');
  writeFileSync(image, Buffer.concat([program, Buffer.alloc((1 << 20) - (program.length % (1 << 20)))]));
  assert.equal((await create('-q', 'pv.cfg', 'name="flood"', `disk=["format=raw,vdev=xvda,access=ro,target=${image}"]`)).code, 0);
  await ready('flood', 'console0');
  const dom0d = readPid(host);
  const from = consoleLog('flood', 'console0').length;
  await typeOn('flood', `dd if=/dev/vda of=/run/pf bs=1M 2>/dev/null; chmod +x /run/pf; /run/pf 0x505 2 200000`);
  let listed = 0;
  await until('the flood to end', async () => {
    assert.ok((await find('flood')) !== undefined);
    listed++;
    return consoleLog('flood', 'console0').includes('port-flood done 200000', from) ? true : undefined;
  }, 120_000, 200);
  assert.ok(listed > 1, 'xl list answered while the guest flooded');
  // Each write is one GUEST_CRASHLOADED event (QEMU's action: run): not a crash.
  assert.equal((await find('flood'))?.state.includes('c'), false);
  await typeOn('flood', 'poweroff');
  await until('flood powered off', async () => ((await find('flood')) === undefined ? true : undefined));
  assert.equal(readPid(host), dom0d);
});

test('a guest reboot while dom0d cannot start a process (a pids cgroup full): its restart is tried again, and the domain comes back once it can', async () => {
  assert.equal((await create('-q', 'pv.cfg', 'name="rr"')).code, 0);
  await ready('rr', 'console0');
  const before = (await find('rr'))?.domid;
  const dom0d = readPid(host) as number;
  const log = (): string => readFileSync(join(host.logDir, 'dom0d.log'), 'utf8');
  const from = log().length;
  // dom0d alone in a pids cgroup with no room for one more task: every fork fails with EAGAIN.
  const cg = `/sys/fs/cgroup/pids/dom0-test-${String(process.pid)}`;
  mkdirSync(cg);
  try {
    writeFileSync(`${cg}/cgroup.procs`, String(dom0d));
    writeFileSync(`${cg}/pids.max`, readFileSync(`${cg}/pids.current`, 'utf8').trim());
    await typeOn('rr', 'reboot');
    await until('a restart that failed for want of a process', () => /Domain \d+ \(rr\): restart failed: .*could not start a process.*; trying again in/.test(log().slice(from)) || undefined, 60_000, 50);
    writeFileSync(`${cg}/pids.max`, 'max');
  } finally {
    writeFileSync('/sys/fs/cgroup/pids/cgroup.procs', String(dom0d));
    rmdirSync(cg);
  }
  await until('rr restarted', () => /Domain \d+ \(rr\) restarted as domain \d+/.test(log().slice(from)) || undefined, 60_000);
  const after = await find('rr');
  assert.ok(after !== undefined && after.domid !== before, JSON.stringify(after));
  await ready('rr', 'console0', from === 0 ? 0 : consoleLog('rr', 'console0').lastIndexOf('reboot'));
  await ok('destroy', 'rr');
});

test('QEMU sent SIGTERM (an admin\'s kill, a host shutting down) is the host powering the domain off: on_poweroff applies, not on_crash', async () => {
  assert.equal((await create('-q', 'pv.cfg', 'name="term"', 'on_crash="preserve"')).code, 0);
  const d = await find('term');
  assert.ok(d !== undefined);
  process.kill(Number(await xs.readString(`/local/domain/${d.domid}/image/device-model-pid`)), 'SIGTERM');
  // on_poweroff is destroy; a crash would have kept it (preserve).
  await until('term gone (on_poweroff)', async () => ((await find('term')) === undefined ? true : undefined));
});

test('a corrupt domain record does not orphan its QEMU: dom0d finds the machine, records it again, and it can be destroyed', async () => {
  assert.equal((await create('-q', 'pv.cfg', 'name="orph"')).code, 0);
  const d = await find('orph');
  assert.ok(d !== undefined);
  await ready('orph', 'console0');
  const qemu = Number(await xs.readString(`/local/domain/${d.domid}/image/device-model-pid`));
  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await waitGone(dom0d);
  const record = join(host.stateDir, 'domains', `${d.domid}.json`);
  writeFileSync(record, '{"version": 2, "domid": ');
  const again = await until('orph recovered', async () => find('orph'));
  assert.deepEqual([again.domid, again.uuid, again.state], [d.domid, d.uuid, 'running']);
  xs.close();
  xs = await XenstoreClient.connect(join(host.runDir, 'xenstored', 'socket'));
  assert.equal(Number(await xs.readString(`/local/domain/${d.domid}/image/device-model-pid`)), qemu, 'the same QEMU');
  assert.ok(readdirSync(join(host.stateDir, 'domains')).some((f) => f.startsWith(`${d.domid}.json.corrupt-`)), 'the bad record is kept aside');
  assert.match(readFileSync(join(host.logDir, 'dom0d.log'), 'utf8'), new RegExp(`Domain ${d.domid} \\(orph\\): its record was lost; recovered its running QEMU \\(pid ${qemu}\\)`));
  const twin = await create('-q', 'pv.cfg', 'name="orph"');
  assert.equal(twin.code, 3, 'a second domain of the name is refused');
  await ok('destroy', 'orph');
  assert.equal(pidsNaming(join(host.runDir, 'domains')).includes(qemu), false, 'its QEMU is gone');
});

test('dom0d restarted while a QEMU is stopped (SIGSTOP): the domain is kept, its commands say QEMU does not answer, and it is taken over once QEMU runs', async () => {
  assert.equal((await create('-p', '-q', 'pv.cfg', 'name="frozen"')).code, 0);
  const d = await find('frozen');
  assert.ok(d !== undefined);
  const qemu = Number(await xs.readString(`/local/domain/${d.domid}/image/device-model-pid`));
  process.kill(qemu, 'SIGSTOP');
  try {
    const dom0d = readPid(host) as number;
    process.kill(dom0d, 'SIGKILL');
    await waitGone(dom0d);
    // It was killed at re-adoption for not answering within 3 s: the domain was lost.
    const kept = await find('frozen');
    assert.deepEqual([kept?.domid, kept?.uuid], [d.domid, d.uuid]);
    assert.ok(pidsNaming(join(host.runDir, 'domains')).includes(qemu), 'its QEMU runs on');
    xs.close();
    xs = await XenstoreClient.connect(join(host.runDir, 'xenstored', 'socket'));
    const r = await xl(host, 'unpause', 'frozen');
    assert.equal(r.code, 1);
    assert.match(r.err, /^QEMU of domain 'frozen' \(\d+\) has not answered on QMP since dom0d started\nhint: QEMU may be stopped/);
  } finally {
    process.kill(qemu, 'SIGCONT');
  }
  await until('QEMU taken over once it runs', async () => (await xl(host, 'unpause', 'frozen')).code === 0);
  assert.match(stateLetters(await ok('list', 'frozen'), 'frozen'), RUNNING);
  // The same with its record lost too: the machine is found, described by xenstore, kept.
  process.kill(qemu, 'SIGSTOP');
  try {
    const dom0d = readPid(host) as number;
    process.kill(dom0d, 'SIGKILL');
    await waitGone(dom0d);
    writeFileSync(join(host.stateDir, 'domains', `${d.domid}.json`), '{"version": 2, "domid": ');
    const found = await find('frozen');
    assert.deepEqual([found?.domid, found?.uuid, found?.memKiB], [d.domid, d.uuid, d.memKiB]);
    xs.close();
    xs = await XenstoreClient.connect(join(host.runDir, 'xenstored', 'socket'));
  } finally {
    process.kill(qemu, 'SIGCONT');
  }
  await until('the recovered QEMU taken over once it runs', async () => (await xl(host, 'pause', 'frozen')).code === 0);
  await ok('destroy', 'frozen');
  assert.equal(pidsNaming(join(host.runDir, 'domains')).includes(qemu), false, 'its QEMU is gone');
});

test('ten parallel creates of one name: exactly one succeeds, the others fail naming the name', async () => {
  const runs = await Promise.all(Array.from({ length: 10 }, () => create('-p', '-q', 'pv.cfg', 'name="same"')));
  const codes = runs.map((r) => r.code).sort();
  assert.deepEqual(codes, [0, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
  for (const r of runs.filter((x) => x.code !== 0)) assert.match(r.err, /^Domain with name "same" already exists\.\nhint: /);
  const same = (await list()).filter((d) => d.name === 'same');
  assert.equal(same.length, 1);
  assert.equal(same[0]?.state, 'paused');
  await ok('destroy', 'same');
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
});

test('xl create interrupted (Ctrl-C) while dom0d makes the domain: the domain is destroyed once made, xl ends by the signal (before: it stayed)', async () => {
  const script = join(host.root, 'slow-vif.sh');
  const started = join(host.root, 'slow-vif.started');
  writeFileSync(script, `#!/bin/sh\ntouch '${started}'\nsleep 3\nexit 0\n`, { mode: 0o755 });
  const child = spawn(XL, ['create', '-p', 'pv.cfg', 'name="cut"', `vif=["script=${script}"]`], { cwd: host.root, env: host.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await until('the vif script runs', () => existsSync(started), 60_000, 50);
  child.kill('SIGINT');
  assert.equal(await exited, 'SIGINT', err);
  assert.match(err, /\nInterrupted: the domain is being created; it is destroyed once it is there\nInterrupted \(SIGINT\)\n/);
  assert.equal(await find('cut'), undefined);
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
});

test('a missing kernel is one error naming the file; no domain, process or socket is left', async () => {
  const r = await create('pv.cfg', 'name="nokernel"', 'kernel="/nonexistent/vmlinuz"');
  assert.equal(r.code, 3);
  assert.equal(r.err, 'Parsing config from pv.cfg\nCannot open kernel /nonexistent/vmlinuz: No such file or directory\nhint: check kernel= in pv.cfg\n');
  assert.equal(await find('nokernel'), undefined);
  assert.deepEqual(readdirSync(join(host.runDir, 'domains')), []);
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
});

test('a kernel, ramdisk or disk that is no file QEMU can load (FIFO, directory, device, empty) is one line at once, before QEMU runs', async () => {
  const fifo = join(host.root, 'boot.fifo');
  execFileSync('mkfifo', [fifo]);
  const empty = join(host.root, 'empty-kernel');
  writeFileSync(empty, '');
  const cases: Array<[string, string]> = [
    [`kernel="${fifo}"`, `Cannot open kernel ${fifo}: it is a FIFO, not a file\nhint: check kernel= in pv.cfg`],
    [`kernel="${host.root}"`, `Cannot open kernel ${host.root}: it is a directory, not a file\nhint: check kernel= in pv.cfg`],
    [`kernel="${empty}"`, `Cannot open kernel ${empty}: the file is empty\nhint: check kernel= in pv.cfg`],
    ['ramdisk="/dev/zero"', 'Cannot open ramdisk /dev/zero: it is a character device, not a file\nhint: check ramdisk= in pv.cfg'],
    [`disk=["${fifo},raw,xvda,w"]`, `Disk vdev=xvda of domain 'badfile': ${fifo} is a FIFO, not an image file or a block device\nhint: check the path in disk= in pv.cfg`],
  ];
  for (const [setting, message] of cases) {
    // A FIFO made QEMU block in open() for good: create waited 10 s for its monitor, then named no file.
    const r = await create('-q', 'pv.cfg', 'name="badfile"', setting);
    assert.equal(r.code, 3, setting);
    assert.equal(r.err, `${message}\n`, setting);
    assert.equal(await find('badfile'), undefined);
  }
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
});

test("the article's configs, only their file paths replaced, create (paused) and destroy", async () => {
  const article = join(import.meta.dirname, '..', '..', '..', 'examples', 'article');
  const overlay = (n: string): string => {
    const f = join(host.root, `${n}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', guests.disk, f]);
    return f;
  };
  const raw = (n: string): string => {
    const f = join(host.root, `${n}.img`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', f, '16M']);
    return f;
  };
  const paths: Record<string, string[]> = {
    'freebsd.cfg': [`disk=['tap:qcow2:${overlay('freebsd')},xvda,w','file:${guests.cdrom},hdb:cdrom,r']`],
    'linux-debug.cfg': [`disk=['tap:qcow2:${overlay('linux')},xvda,w']`],
    'windows.cfg': [`disk=['${overlay('windows')},qcow2,hda,w','file:${guests.cdrom},hdc:cdrom,r']`],
    // Its `file:` disk has no format (raw): a raw image, as dom0 checks the format against the image.
    'legacy-xm-hvm.cfg': [`disk=['file:${raw('legacy')},hda,w',',hdc:cdrom,r']`],
  };
  for (const [file, extra] of Object.entries(paths)) {
    const r = await create('-p', '-q', join(article, file), ...extra);
    assert.equal(r.code, 0, `${file}: ${r.err}`);
  }
  const domains = await list();
  assert.deepEqual(domains.map((d) => [d.name, d.state]), [
    ['FreeBSDVM', 'paused'], ['LinuxVM', 'paused'], ['WindowsVM', 'paused'], ['ExampleHVMDomain', 'paused'],
  ]);
  const links = (): string[] => (JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>).map((l) => l.ifname);
  const taps = (): string[] => links().filter((l) => domains.some((d) => l.startsWith(`vif${d.domid}.`)));
  assert.equal(taps().length, 4, 'one tap per vif');
  for (const d of domains) await ok('destroy', d.name);
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
  assert.deepEqual(taps(), []);
});
