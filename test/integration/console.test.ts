// Consoles, VNC, triggers and sysrq on real QEMU (TCG) through `xl` and an autostarted dom0d,
// with the project's pv test guest (console hvc0, a VNC framebuffer with a password):
// `xl console` from a pipe replays what the guest printed before anyone attached, types
// commands, detaches on Ctrl-] leaving the guest running; -t/-n select consoles as xenconsole
// does; sysrq h prints the kernel's sysrq help; trigger nmi reaches the guest, reset resets it in place;
// the VNC server answers RFB on the port `xl vncviewer --json` reports, and a viewer gets Xen's
// arguments and the password on stdin; a dom0d stopped and restarted meanwhile loses and repeats
// no console byte; `xl create -c` shows the guest's output from its first byte. One host (temp
// DOM0_*_DIRs); at the end every domain is destroyed, dom0d stopped, and any QEMU of this host
// still running killed by pid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, chmodSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { childPids, pidCmdline } from '../../src/host/index.js';
import { ensureGuests, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { apiUrl, destroyHost, makeHost, readPid, until, waitGone, xl, XL, xsRead } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;

function pvConfig(name: string): string {
  return [
    `name = "${name}"`,
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
    'vfb = [ "vnc=1,vncpasswd=s3cret" ]',
  ].join('\n');
}

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  host.env['DOM0_RESTART_DELAY_MS'] = '100';
  host.env['DOM0_LOG_CHECK_MS'] = '300';
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  host.env['DOM0_API_LISTEN'] = '127.0.0.1:0';
  writeFileSync(join(host.root, 'c1.cfg'), pvConfig('c1'));
  writeFileSync(join(host.root, 'c2.cfg'), pvConfig('c2'));
  await ok('create', '-q', join(host.root, 'c1.cfg'));
});

after(async () => {
  for (const name of ['c1', 'c2', 'h1']) await xl(host, 'destroy', name);
  const qemuPids = readdirSync(join(host.runDir, 'domains'), { withFileTypes: true }).flatMap((d) => {
    try {
      return d.isDirectory() ? [Number.parseInt(readFileSync(join(host.runDir, 'domains', d.name, 'qemu.pid'), 'utf8'), 10)] : [];
    } catch {
      return [];
    }
  });
  await destroyHost(host);
  for (const pid of qemuPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xl(host, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** dom0d's log of a domain's console (LOG_DIR/console/<name>/<id>.log; the PV console by default). */
function consoleLog(name: string, id = 'console0'): string {
  try {
    return readFileSync(join(host.logDir, 'console', name, `${id}.log`), 'latin1');
  } catch {
    return '';
  }
}

/** `xl ARGS` with stdin a pipe: what it prints, and a way to type into it. */
class Session {
  child!: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  exited!: Promise<number | null>;

  /** Runs `xl ARGS`; with no ARGS, `attach` gives the process. */
  constructor(...args: string[]) {
    if (args.length > 0) this.attach(spawn(XL, args, { env: host.env, stdio: 'pipe' }));
  }

  attach(child: ChildProcessWithoutNullStreams): void {
    this.child = child;
    child.stdout.on('data', (c: Buffer) => (this.out += c.toString('latin1')));
    child.stderr.on('data', (c: Buffer) => (this.err += c.toString()));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  waitFor(pattern: string | RegExp, from = 0, timeoutMs = 30_000): Promise<string> {
    return until(`${String(pattern)} from xl; got ${JSON.stringify(this.out.slice(-300))} ${this.err}`, () => {
      const rest = this.out.slice(from);
      return (typeof pattern === 'string' ? rest.includes(pattern) : pattern.test(rest)) ? this.out : undefined;
    }, timeoutMs);
  }

  type(text: string): void {
    this.child.stdin.write(text);
  }
}

async function domains(): Promise<Array<{ domid: number; name: string; state: string }>> {
  return JSON.parse((await ok('list', '--json')).out) as Array<{ domid: number; name: string; state: string }>;
}

test('xl console from a pipe: early output replayed, input typed, Ctrl-] detaches and the guest runs on', async () => {
  await until('the guest ready on its console', () => consoleLog('c1').includes(GUEST_PROMPT));
  const s = new Session('console', 'c1');
  await s.waitFor(GUEST_READY_LINE);
  s.type('echo piped-$((6*7))\n');
  await s.waitFor('piped-42');
  s.type('\x1d');
  assert.equal(await s.exited, 0, s.err);
  assert.equal((await domains()).find((d) => d.name === 'c1')?.state, 'running');
  // Again, stdin ending at once: the replay (with the earlier answer) is shown, then xl ends.
  const again = new Session('console', 'c1');
  again.child.stdin.end();
  assert.equal(await again.exited, 0, again.err);
  assert.match(again.out, /DOM0-GUEST-READY[\s\S]*piped-42/);
});

test('console sessions per domain are bounded: the 17th, while 16 clients of console/tty read nothing, is refused in one line', async () => {
  const c1 = (await domains()).find((d) => d.name === 'c1')!;
  const tty = xsRead(host, `/local/domain/${c1.domid}/console/tty`);
  const clients = await Promise.all(Array.from({ length: 16 }, () => new Promise<ReturnType<typeof connect>>((resolve, reject) => {
    const c = connect(tty, () => resolve(c));
    c.pause();
    c.once('error', reject);
  })));
  try {
    await until('16 sessions attached', async () => {
      const r = await xl(host, 'console', 'c1');
      return r.code !== 0 ? r : undefined;
    });
    const r = await xl(host, 'console', 'c1');
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n')[0], `Domain ${c1.domid} has 16 console sessions attached`);
  } finally {
    for (const c of clients) c.destroy();
  }
  await until('a session again once they left', async () => (await xl(host, 'console', 'c1')).code === 0);
});

test('remote console sessions (the API over TCP) are counted apart: 16 of them do not lock the host\'s xl console out; the 17th is refused', async () => {
  const { hostname, port } = new URL(await apiUrl(host));
  const token = readFileSync(join(host.stateDir, 'api-token'), 'utf8').trim();
  const attach = (): Promise<{ socket: Socket; head: string }> => new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET /v1/domains/c1/console/stream?id=console0 HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: dom0-console\r\n\r\n`);
    });
    socket.once('data', (c: Buffer) => {
      socket.pause();
      resolve({ socket, head: c.toString('latin1').split('\r\n')[0] ?? '' });
    });
    socket.once('error', reject);
  });
  const remote = await Promise.all(Array.from({ length: 16 }, attach));
  try {
    assert.deepEqual(new Set(remote.map((r) => r.head)), new Set(['HTTP/1.1 101 Switching Protocols']));
    const seventeenth = await attach();
    seventeenth.socket.destroy();
    assert.match(seventeenth.head, /^HTTP\/1\.1 4\d\d /);
    const local = await xl(host, 'console', 'c1');
    assert.equal(local.code, 0, local.err);
  } finally {
    for (const r of remote) r.socket.destroy();
  }
});

test('xl console on a terminal: raw mode while attached, Ctrl-] alone detaches, the terminal restored', async () => {
  // script(1) gives xl a pseudo-terminal; `stty -a` afterwards shows the modes xl left behind.
  const s = new Session();
  const child = spawn('script', ['-qefc', `${XL} console c1; stty -a`, '/dev/null'], { env: host.env, stdio: 'pipe' });
  s.attach(child);
  await s.waitFor(GUEST_PROMPT);
  const from = s.out.length;
  s.type('echo tty-$((7*6))\r');
  await s.waitFor('tty-42', from);
  s.type('\x1d');
  await s.waitFor(/speed \d+ baud/, from);
  assert.equal(await s.exited, 0, s.err);
  assert.match(s.out, /[^-]icanon/);
  assert.match(s.out, /[^-]echo /);
});

test('xl console on a terminal: continued after a stop, it is raw again; SIGQUIT ends it with the terminal restored', async () => {
  const s = new Session();
  const child = spawn('script', ['-qefc', `${XL} console c1; stty -a`, '/dev/null'], { env: host.env, stdio: 'pipe' });
  s.attach(child);
  await s.waitFor(GUEST_PROMPT);
  const descendants = (pid: number): number[] => childPids(pid).flatMap((c) => [c, ...descendants(c)]);
  const node = descendants(child.pid ?? 0).find((p) => (pidCmdline(p) ?? []).some((a) => a.endsWith('xl.cjs')));
  assert.ok(node !== undefined);
  const pts = readlinkSync(`/proc/${node}/fd/0`);
  // Stopped, its terminal set back to cooked mode (as a job-control shell does), continued.
  process.kill(node, 'SIGSTOP');
  execFileSync('stty', ['-F', pts, 'sane']);
  process.kill(node, 'SIGCONT');
  await until('raw mode again', () => / -icanon /.test(` ${execFileSync('stty', ['-F', pts, '-a'], { encoding: 'utf8' }).replace(/\s+/g, ' ')} `) || undefined, 10_000);
  const from = s.out.length;
  s.type('echo cont-$((7*6))\r');
  await s.waitFor('cont-42', from);
  // Before: Node's default for SIGQUIT left the terminal raw.
  process.kill(node, 'SIGQUIT');
  await s.waitFor(/speed \d+ baud/, from);
  await s.exited;
  assert.match(s.out.slice(from), /[^-]icanon/);
  assert.match(s.out.slice(from), /Interrupted \(SIGQUIT\)/);
});

test('xl console -t/-n: serial falls back to the pv console, missing ones fail as xl does', async () => {
  const primary = JSON.parse((await ok('console', '--json', 'c1')).out) as Record<string, unknown>;
  assert.deepEqual({ ...primary, stream: undefined }, { domid: primary.domid, name: 'c1', type: 'pv', num: 0, id: 'console0', stream: undefined });
  assert.equal((JSON.parse((await ok('console', '--json', '-t', 'serial', 'c1')).out) as { id: string }).id, 'console0');
  const missing = await xl(host, 'console', '-t', 'pv', '-n', '1', 'c1');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^Unable to attach console\nhint: domain 'c1' has: pv 0/);
  const badType = await xl(host, 'console', '-t', 'bogus', 'c1');
  assert.equal(badType.code, 1);
  assert.equal(badType.err, 'console type supported are: pv, serial, vuart\n');
  assert.equal((await xl(host, 'console', '-t', 'vuart', 'c1')).code, 1);
  assert.equal((await xl(host, 'console', '-e', 'xy', 'c1')).code, 2);
});

test('xl sysrq h prints the sysrq help on the guest console; trigger nmi reaches the guest', async () => {
  const sysrq = JSON.parse((await ok('sysrq', '--json', 'c1', 'h')).out) as { xenstorePath: string; keys: string[] };
  assert.deepEqual(sysrq.keys, ['alt', 'sysrq', 'h']);
  await until('sysrq help on the console', () => /sysrq: HELP :/.test(consoleLog('c1')));
  await ok('trigger', 'c1', 'nmi');
  await until('the NMI on the console', () => /NMI received/.test(consoleLog('c1')));
  const init = await xl(host, 'trigger', 'c1', 'init');
  assert.equal(init.code, 1);
  assert.match(init.err, /^Cannot send trigger "init" to domain 'c1': QEMU has no way to deliver it\n/);
  const bad = await xl(host, 'trigger', 'c1', 'bogus');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Invalid trigger "bogus"\n/);
  const badSysrq = await xl(host, 'sysrq', 'c1', 'hh');
  assert.match(badSysrq.err, /^Invalid sysrq\.\n/);
});

test('xl vncviewer: the display answers RFB; a viewer gets HOST:DISPLAY -autopass and the password on stdin', async () => {
  const v = JSON.parse((await ok('vncviewer', '--json', 'c1')).out) as { host: string; port: number; display: number; address: string };
  assert.equal(v.address, `${v.host}:${v.port - 5900}`);
  const greeting = await new Promise<string>((resolve, reject) => {
    const c = connect(v.port, v.host);
    c.once('data', (d: Buffer) => {
      c.destroy();
      resolve(d.toString('latin1'));
    });
    c.once('error', reject);
  });
  assert.equal(greeting, 'RFB 003.008\n');
  // No viewer installed: the address on stdout, exit 1 and a hint.
  const none = await xl(host, 'vncviewer', 'c1');
  assert.equal(none.code, 1);
  assert.equal(none.out, `${v.address}\n`);
  assert.match(none.err, /^Cannot run a VNC viewer: none of vncviewer, xtightvncviewer, gvncviewer is installed\nhint: connect one to /);
  // A viewer (VNCVIEWER, as libxl reads it): its arguments and stdin are recorded.
  const record = join(host.root, 'viewer.out');
  const viewer = join(host.root, 'viewer.sh');
  writeFileSync(viewer, `#!/bin/sh\n{ echo "$*"; cat; } > ${record}\n`);
  chmodSync(viewer, 0o755);
  const saved = host.env['VNCVIEWER'];
  host.env['VNCVIEWER'] = viewer;
  try {
    await ok('vncviewer', '--autopass', 'c1');
  } finally {
    if (saved === undefined) delete host.env['VNCVIEWER'];
    else host.env['VNCVIEWER'] = saved;
  }
  assert.equal(readFileSync(record, 'utf8'), `${v.address} -autopass\ns3cret`);
});

test('xl console sent SIGTERM (a closed ssh session, kill) ends as interrupted, not as a clean detach; the domain runs on', async () => {
  const s = new Session('console', 'c1');
  await s.waitFor(GUEST_PROMPT);
  s.child.kill('SIGTERM');
  // Ended by the signal once its terminal is restored, as a shell reports a command the signal
  // ended (143); before: exit status 1 (and after a hangup, an abort in Node's own exit).
  assert.equal(await s.exited, null);
  assert.equal(s.child.signalCode, 'SIGTERM');
  assert.equal(s.err, 'Interrupted (SIGTERM)\nhint: the domain runs on: xl console attaches again\n');
  assert.ok((await domains()).some((d) => d.name === 'c1' && d.state === 'running'));
});

test('a dom0d stopped and restarted meanwhile loses and repeats no console byte; xl console says it lost dom0d', async () => {
  const s = new Session('console', 'c1');
  await s.waitFor(GUEST_PROMPT);
  s.type('i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo tick-$i; sleep 0.1; done &\n');
  await s.waitFor('tick-3');
  const pid = readPid(host);
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGTERM');
  await waitGone(pid, 10_000);
  // It ended silently with status 0, as when the domain goes: the user could not tell.
  assert.equal(await s.exited, 1, 'xl console ends when dom0d stops');
  assert.equal(s.err, "Console of domain 'c1' lost: dom0d stopped\nhint: the domain runs on: xl console c1 attaches again (any xl command starts dom0d)\n");
  await new Promise((r) => setTimeout(r, 1000));
  await ok('list');
  const ticks = await until('all 30 ticks in the console log', () => {
    const t = consoleLog('c1').match(/tick-\d+\r?\n/g);
    return t !== null && t.some((x) => x.startsWith('tick-30')) ? t : undefined;
  });
  assert.deepEqual(ticks.map((t) => t.trim()), Array.from({ length: 30 }, (_, i) => `tick-${i + 1}`));
});

test('a guest printing without pause: its console feed stays about 2 MiB on disk, dom0d stops and restarts under it', async () => {
  const domid = (await domains()).find((d) => d.name === 'c1')?.domid;
  assert.ok(domid !== undefined);
  const feed = join(host.stateDir, 'domains', String(domid), 'console0.log');
  const s = new Session('console', 'c1');
  await s.waitFor(GUEST_PROMPT);
  s.type('(yes spam-0123456789abcdef0123456789abcdef0123456789 | head -c 4000000; echo; echo spam-$((40+2))) &\n');
  s.type('\x1d');
  assert.equal(await s.exited, 0, s.err);
  await until('the guest printing', () => statSync(feed).size > 1_000_000);
  // Stopping waits for no end of output (it used to follow the feed for as long as it grew).
  const pid = readPid(host);
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGTERM');
  await waitGone(pid, 10_000);
  await ok('list');
  await until('the guest done printing', () => consoleLog('c1').includes('spam-42'), 120_000);
  const st = await until('the feed trimmed', () => {
    const now = statSync(feed);
    return now.blocks * 512 <= 3 << 20 ? now : undefined;
  });
  assert.ok(st.size > 4_000_000, `the feed keeps its length (${st.size}): offsets into it stay valid`);
  const replay = new Session('console', 'c1');
  replay.child.stdin.end();
  assert.equal(await replay.exited, 0, replay.err);
  assert.match(replay.out, /spam-[0-9a-f]*\r?\n(\r?\n)?spam-42\r?\n/, 'the replay ends with the latest output');
});

test('a running QEMU\'s own log and dom0d\'s are held to their bound: past 16 MiB only the last MiB stays', async () => {
  for (const file of [join(host.logDir, 'qemu-c1.log'), join(host.logDir, 'dom0d.log')]) {
    // As QEMU's own lines would (a guest breaking a virtio device in a loop): 20 MiB more.
    appendFileSync(file, Buffer.alloc(20 << 20, 'qemu-system-x86_64: virtio: zero sized buffers are not allowed\n'));
    appendFileSync(file, 'the latest line\n');
    // Cut to its last MiB once past 16 MiB: a check that comes while the 20 MiB are still being
    // appended cuts then, and what follows keeps it under the bound (the cut itself: files.test.ts).
    await until(`${file} held to its bound`, () => statSync(file).blocks * 512 <= (16 << 20) + 8192);
    assert.match(readFileSync(file, 'utf8'), /the latest line\n/);
  }
  assert.equal((await domains()).find((d) => d.name === 'c1')?.state, 'running');
});

test('xl trigger reset resets the guest in place, as Xen: same domid, its console shows a second boot', async () => {
  const before = (consoleLog('c1').match(/DOM0-GUEST-READY/g) ?? []).length;
  const domid = (await domains()).find((d) => d.name === 'c1')?.domid;
  await ok('trigger', 'c1', 'reset');
  await until('a second boot on the console', () => (consoleLog('c1').match(/DOM0-GUEST-READY/g) ?? []).length > before);
  const now = (await domains()).find((d) => d.name === 'c1');
  assert.deepEqual([now?.domid, now?.state], [domid, 'running']);
});

test('xl console ends at once when its guest stops: a crash (preserved) shows the panic then ends; so does a reboot', async () => {
  writeFileSync(join(host.root, 'c3.cfg'), `${pvConfig('c3')}\non_crash = "preserve"\non_reboot = "restart"`);
  await ok('create', '-q', join(host.root, 'c3.cfg'));
  try {
    // stdin stays open throughout: only the guest's end may end the session.
    const s = new Session('console', 'c3');
    await s.waitFor(GUEST_PROMPT, 0, 60_000);
    s.type('reboot\n');
    assert.equal(await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('still attached'), 10_000))]), 0, s.err);
    await until('c3 restarted', () => consoleLog('c3').split(GUEST_READY_LINE).length > 2 ? true : undefined, 60_000);
    const p = new Session('console', 'c3');
    await p.waitFor(GUEST_PROMPT, 0, 60_000);
    assert.doesNotMatch(p.out, /DOM0-GUEST-REBOOT/, 'the restarted domain replays only its own output (the log keeps the old)');
    assert.match(consoleLog('c3'), /DOM0-GUEST-REBOOT/);
    const from = p.out.length;
    p.type('panic\n');
    assert.equal(await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('still attached'), 10_000))]), 0, p.err);
    assert.match(p.out.slice(from), /Kernel panic/, 'the panic reached the session before it ended');
    assert.deepEqual((await domains()).filter((d) => d.name === 'c3').map((d) => d.state), ['shutdown']);
    // Attaching to the stopped domain replays its last words and ends.
    const late = new Session('console', 'c3');
    assert.equal(await late.exited, 0, late.err);
    assert.match(late.out, /Kernel panic/);
    late.child.stdin.end();
  } finally {
    await xl(host, 'destroy', 'c3');
  }
});

test('an HVM guest: the primary console is COM1 (serial 0); -t pv finds none', async () => {
  const overlay = join(host.root, 'h1.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', guests.disk, overlay]);
  writeFileSync(join(host.root, 'h1.cfg'), [
    'name = "h1"', 'type = "hvm"', 'memory = 128', 'serial = "pty"', 'vnc = 0',
    `disk = [ 'format=qcow2, vdev=hda, access=rw, target=${overlay}' ]`,
  ].join('\n'));
  await ok('create', '-q', join(host.root, 'h1.cfg'));
  try {
    const a = JSON.parse((await ok('console', '--json', 'h1')).out) as { type: string; num: number; id: string };
    assert.deepEqual([a.type, a.num, a.id], ['serial', 0, 'serial0']);
    assert.equal((await xl(host, 'console', '-t', 'pv', 'h1')).code, 1);
    const s = new Session('console', 'h1');
    await s.waitFor(GUEST_PROMPT, 0, 60_000);
    const from = s.out.length;
    s.type('cat /run/console\n');
    await s.waitFor('ttyS0', from);
    s.type('\x1d');
    assert.equal(await s.exited, 0, s.err);
  } finally {
    await xl(host, 'destroy', 'h1');
  }
});

test('xl create -c attaches before the guest runs: output from its first byte, Ctrl-] leaves it running', async () => {
  const s = new Session('create', '-c', join(host.root, 'c2.cfg'));
  await s.waitFor(GUEST_PROMPT, 0, 40_000);
  assert.ok(s.out.startsWith(consoleLog('c2').slice(0, 40)), 'the session starts where the guest\'s output starts');
  s.type('\x1d');
  assert.equal(await s.exited, 0, s.err);
  assert.equal((await domains()).find((d) => d.name === 'c2')?.state, 'running');
});
