// Guest debugging on real QEMU (TCG) through `xl` and an autostarted dom0d, one PV guest booted
// to its shell: `xl dump-core` writes an ELF core (mode 0600) that readelf and gdb open — gdb with
// the guest's vmlinux reads the vCPU's registers from it — while the guest runs on;
// `xl qemu-monitor-command` runs HMP commands through dom0d's QMP connection; the article's gdb
// session through `gdbsx -a DOMID 64 PORT` (registers, a breakpoint hit, detach, the guest runs
// on) and `gdbsx -c`; `xl dmesg` with the guest's port 0xe9 output and `xl debug-keys`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { directBootConfig, ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, until, xlIn, xsRead } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;
let con: GuestConsole | undefined;

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  writeFileSync(join(host.root, 'dbg.cfg'), directBootConfig(guests, 'dbg').join('\n'));
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

test('xl suspend stops the guest in RAM, shut down with reason suspend (no on_* action); xl resume runs it on', async () => {
  const c = con as GuestConsole;
  const s = await xlIn(host, host.root, 'suspend', 'dbg');
  assert.deepEqual([s.code, s.out, s.err], [0, '', '']);
  const listed = JSON.parse((await xlIn(host, host.root, 'list', '--json', 'dbg')).out) as Array<{ state: string; shutdownReason: string }>;
  assert.deepEqual([listed[0]?.state, listed[0]?.shutdownReason], ['shutdown', 'suspend']);
  assert.match((await xlIn(host, host.root, 'list', 'dbg')).out, /\ndbg +\d+ +\d+ +1 +---ss- +/);
  assert.match((await xlIn(host, host.root, 'qemu-monitor-command', 'dbg', 'info status')).out, /^VM status: paused/);
  const from = c.text.length;
  c.send('echo after-$((40 + 2))');
  await new Promise((r) => setTimeout(r, 1000));
  assert.doesNotMatch(c.text.slice(from), /after-42/, 'a suspended guest runs nothing');
  const r = await xlIn(host, host.root, 'resume', 'dbg');
  assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
  await c.waitFor('after-42', { from, timeoutMs: 10_000 });
  const again = await xlIn(host, host.root, 'resume', 'dbg');
  assert.equal(again.code, 0);
  assert.match(again.err, /^Cannot resume domain 'dbg': it is running\n/);
  assert.equal((await c.run('echo alive')).out.trim(), 'alive');
});

test('xl dmesg: dom0d\'s (XEN) lines and what the guest wrote to port 0xe9 as (dN) lines; debug-keys add to it; -c clears it', async () => {
  const domid = (await xlIn(host, host.root, 'domid', 'dbg')).out.trim();
  const sent = await (con as GuestConsole).run("printf 'dbg-e9, [says] hi\\n' | debugport; echo sent $?");
  assert.match(sent.out, /sent 0/);
  const line = new RegExp(`^\\(d${domid}\\) dbg-e9, \\[says\\] hi$`, 'm');
  const read = await until('the guest\'s line in xl dmesg', async () => {
    const r = await xlIn(host, host.root, 'dmesg');
    return r.code !== 0 || line.test(r.out) ? r : undefined;
  }, 10_000);
  assert.equal(read.code, 0, read.err);
  assert.match(read.out, /^\(XEN\) dom0d \d+ starting: /m);
  const keys = await xlIn(host, host.root, 'debug-keys', 'qR');
  assert.deepEqual([keys.code, keys.out, keys.err], [0, '', '']);
  const after = (await xlIn(host, host.root, 'dmesg', '-c')).out;
  assert.match(after, /^\(XEN\) 'q' pressed -> dump domain \(and guest debug\) info$/m);
  assert.match(after, new RegExp(`^\\(XEN\\) General information for domain ${domid}:$`, 'm'));
  assert.match(after, /^\(XEN\)     VCPU0: CPU\d+ (running|blocked) /m);
  assert.match(after, /^\(XEN\) 'R' pressed -> reboot machine: not here: dom0d does not reboot its host$/m);
  assert.equal((await xlIn(host, host.root, 'dmesg')).out, '');
  const json = JSON.parse((await xlIn(host, host.root, '--json', 'debug-keys', 'h')).out) as { lines: string[] };
  assert.ok(json.lines.includes(" key 'q' (ascii '71') => dump domain (and guest debug) info"), json.lines.join('\n'));
  const bare = await xlIn(host, host.root, 'debug-keys');
  assert.equal(bare.code, 2);
  assert.match(bare.err, /^'xl debug-keys' requires at least 1 argument\.\n/);
});

test('xl channel-list: a pty channel with the socket xl console attaches to, a socket channel with its path', async () => {
  const sock = join(host.root, 'chan-[1].sock');
  writeFileSync(join(host.root, 'chan.cfg'), [
    ...directBootConfig(guests, 'chan', { memory: 64 }),
    `channel = [ "name=org.dom0.pty,connection=pty", 'name=org.dom0.sock,connection=socket,path=${sock}' ]`,
  ].join('\n'));
  const created = await xlIn(host, host.root, 'create', '-p', 'chan.cfg');
  assert.equal(created.code, 0, created.err);
  try {
    const domid = (await xlIn(host, host.root, 'domid', 'chan')).out.trim();
    const r = await xlIn(host, host.root, 'channel-list', 'chan', 'nosuch', 'dbg');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, 'nosuch is an invalid domain identifier\n');
    const tty = join(host.runDir, 'domains', domid, 'channel0.tty');
    assert.equal(r.out, [
      'Idx BE state evt-ch ring-ref connection                               ',
      `0   0  4     -1     -1       pty        ${tty.padEnd(30)} `,
      '1   0  4     -1     -1       socket     ',
      '',
    ].join('\n'));
    assert.ok(statSync(tty).isSocket());
    assert.ok(statSync(sock).isSocket(), 'QEMU listens on the socket channel\'s path');
    // QEMU unlinks a listening socket's path first: neither a file nor a live socket is taken over.
    const precious = join(host.root, 'precious.txt');
    writeFileSync(precious, 'keep');
    for (const [path, why] of [[precious, 'a regular file is there, which QEMU would remove to listen there'], [sock, `domain 'chan' \\(${domid}\\) listens there`]] as const) {
      writeFileSync(join(host.root, 'chan2.cfg'), [...directBootConfig(guests, 'chan2', { memory: 64 }), `channel = [ 'name=org.dom0.sock,connection=socket,path=${path}' ]`].join('\n'));
      const refused = await xlIn(host, host.root, 'create', '-p', 'chan2.cfg');
      assert.equal(refused.code, 3, refused.err);
      assert.match(refused.err, new RegExp(`^Parsing config from chan2\\.cfg\nCannot use ${path.replace(/[[\].]/g, '\\$&')} for the socket of channel 'org\\.dom0\\.sock': ${why}\n`));
    }
    assert.equal(readFileSync(precious, 'utf8'), 'keep');
    assert.ok(statSync(sock).isSocket());
    assert.equal((await xlIn(host, host.root, 'domid', 'chan2')).code, 1);
    // Destroyed (its QEMU killed, which unlinks nothing), its socket goes: before, it stayed.
    assert.equal((await xlIn(host, host.root, 'destroy', 'chan')).code, 0);
    assert.equal(existsSync(sock), false, 'the socket channel\'s path is free again');
  } finally {
    await xlIn(host, host.root, 'destroy', 'chan');
  }
});

test('serial ports on a FIFO pair, a file and a host terminal: QEMU writes the guest\'s console into the FIFO and holds the file dom0d made (private), all reached through dom0d\'s descriptors; the terminal\'s hangup leaves the guest running', async () => {
  const dir = mkdtempSync(join(host.root, 'serial-'));
  execFileSync('mkfifo', [join(dir, 'p.in'), join(dir, 'p.out')]);
  // A terminal whose other end socat holds, as a serial cable's far end.
  const far = spawn('socat', [`PTY,link=${dir}/pty,rawer`, 'STDIO'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await until('the pty', () => existsSync(join(dir, 'pty')), 10_000);
  const config = directBootConfig(guests, 'ser', { hvm: true }).filter((l) => !l.startsWith('serial'));
  writeFileSync(join(host.root, 'ser.cfg'), [...config, `serial = [ "pipe:${dir}/p", "file:${dir}/com2.log", "${realpathSync(join(dir, 'pty'))}" ]`].join('\n'));
  // The FIFO's reader first: QEMU's writes would fill it (and block the guest) with none.
  const out = createReadStream(join(dir, 'p.out'));
  let text = '';
  out.on('data', (c) => (text += c.toString('latin1')));
  try {
    const created = await xlIn(host, host.root, 'create', 'ser.cfg');
    assert.equal(created.code, 0, created.err);
    await until('the guest\'s console in the FIFO', () => text.includes(GUEST_READY_LINE), 120_000);
    const log = join(dir, 'com2.log');
    assert.equal(statSync(log).mode & 0o777, 0o600);
    const run = join(host.runDir, 'domains', (await xlIn(host, host.root, 'domid', 'ser')).out.trim());
    const qemu = readFileSync(join(run, 'qemu.pid'), 'utf8').trim();
    assert.ok(readdirSync(`/proc/${qemu}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${qemu}/fd/${fd}`) === log;
      } catch {
        return false;
      }
    }), 'QEMU holds the file open');
    assert.deepEqual(readdirSync(run).filter((f) => f.startsWith('pipe')), [], 'the FIFOs\' links are gone once QEMU has them');
    // Before: QEMU opened the terminal itself and took it as its controlling terminal, whose
    // hangup (the far end closed) was a SIGHUP that QEMU takes for a power-off: the guest went.
    assert.equal(readFileSync(`/proc/${qemu}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[4], '0', 'QEMU has no controlling terminal');
    far.kill('SIGTERM');
    await new Promise((r) => far.once('exit', r));
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await xlIn(host, host.root, 'domid', 'ser')).code, 0, 'the domain runs on');
    assert.ok(existsSync(`/proc/${qemu}`), 'its QEMU too');
  } finally {
    far.kill('SIGKILL');
    await xlIn(host, host.root, 'destroy', 'ser');
    out.destroy();
  }
});

test('xl config-update: the next reboot builds the domain from the updated file; -N only prints it; no file is xl\'s line', async () => {
  writeFileSync(join(host.root, 'cu.cfg'), [...directBootConfig(guests, 'cu'), 'on_reboot = "restart"'].join('\n'));
  writeFileSync(join(host.root, 'cu2.cfg'), [...directBootConfig(guests, 'cu', { memory: 160 }), 'on_reboot = "restart"'].join('\n'));
  assert.equal((await xlIn(host, host.root, 'create', 'cu.cfg')).code, 0);
  try {
    const warning = 'WARNING: xl now has better capability to manage domain configuration, avoid using this command when possible\n';
    const dry = await xlIn(host, host.root, '-N', 'config-update', 'cu', 'cu2.cfg', 'vcpus=1');
    assert.equal(dry.code, 0, dry.err);
    assert.equal(dry.err, warning);
    assert.equal((JSON.parse(dry.out) as { b_info: { target_memkb: number } }).b_info.target_memkb, 160 * 1024);
    const none = await xlIn(host, host.root, 'config-update', 'cu');
    assert.deepEqual([none.code, none.err], [1, `${warning}No config file specified\n`]);
    const domid = Number((await xlIn(host, host.root, 'domid', 'cu')).out.trim());
    const r = await xlIn(host, host.root, 'config-update', 'cu', 'cu2.cfg');
    assert.deepEqual([r.code, r.out, r.err], [0, '', `${warning}setting dom${domid} configuration\n`]);
    const mem = async (): Promise<Array<{ domid: number; memKiB: number }>> => JSON.parse((await xlIn(host, host.root, 'list', '--json', 'cu')).out) as Array<{ domid: number; memKiB: number }>;
    assert.equal((await mem())[0]?.memKiB, 128 * 1024, 'the running domain keeps its config');
    assert.equal((await xlIn(host, host.root, 'reboot', '-F', 'cu')).code, 0);
    const again = await until('cu restarted', async () => {
      const l = await xlIn(host, host.root, 'list', '--json', 'cu');
      const d = l.code === 0 ? (JSON.parse(l.out) as Array<{ domid: number; memKiB: number }>)[0] : undefined;
      return d !== undefined && d.domid !== domid ? d : undefined;
    }, 60_000);
    assert.equal(again.memKiB, 160 * 1024);
  } finally {
    await xlIn(host, host.root, 'destroy', 'cu');
  }
});

const GDBSX = join(import.meta.dirname, '..', '..', '..', 'bin', 'gdbsx');

test('gdbsx -a DOMID 64 PORT: gdb attaches, reads registers, hits a breakpoint, detaches; the guest runs on', async () => {
  const domid = (await xlIn(host, host.root, 'domid', 'dbg')).out.trim();
  const port = String(20000 + (process.pid % 20000));
  const gdbsx = spawn(GDBSX, ['-a', domid, '64', port], { env: host.env });
  let out = '';
  gdbsx.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => gdbsx.once('exit', resolve));
  for (let i = 0; i < 200 && !out.includes(`Listening on port ${port}`); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(out, new RegExp(`^Listening on port ${port}\n`));
  const session = execFileSync('gdb', ['-batch', '-nx', '-ex', `file ${guests.vmlinux}`, '-ex', `target remote 127.0.0.1:${port}`, '-ex', 'info registers rip',
    // The test kernel's vmlinux has no symbols: the breakpoint goes where the vCPU idles, which it passes again at its next wake-up.
    '-ex', 'break *$rip', '-ex', 'continue', '-ex', 'stepi', '-ex', 'info registers rip', '-ex', 'delete', '-ex', 'detach'], { encoding: 'utf8', timeout: 60_000 });
  assert.match(session, /rip\s+0x[0-9a-f]+/);
  assert.match(session, /Breakpoint 1, 0x[0-9a-f]+ in /);
  assert.match(session, /\[Inferior 1 \(process 1\) detached\]/);
  assert.equal(await exited, 0);
  assert.match(out, /Remote debugging from host 127\.0\.0\.1\nDetaching from guest\nExiting\.\. Remote side has terminated connection\n$/);
  assert.equal((await (con as GuestConsole).run('echo after-gdb')).out.trim(), 'after-gdb');
});

test('gdbsx -c prints the vCPU\'s registers; bad arguments print its usage and exit 1', async () => {
  const domid = (await xlIn(host, host.root, 'domid', 'dbg')).out.trim();
  const regs = execFileSync(GDBSX, ['-c', domid, '64'], { env: host.env, encoding: 'utf8' });
  assert.match(regs, /^CPU#0\r?\n/);
  assert.match(regs, /RIP=[0-9a-f]{16}/);
  const bad = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(GDBSX, ['-a', domid, '48', '9999'], { env: host.env });
    let o = '';
    c.stdout.on('data', (d: Buffer) => {
      o += d.toString();
    });
    c.once('exit', (code) => resolve({ code, out: o }));
  });
  assert.equal(bad.code, 1);
  assert.match(bad.out, /^Usage 1: gdbsx -a domid <32\|64> PORT \[-d\]\n/);
});
