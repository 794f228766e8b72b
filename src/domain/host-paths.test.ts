import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import type { DomainConfig } from '../config/index.js';
import { checkHostPaths, holdHostPaths, listeningPaths } from './host-paths.js';
import type { HostPathContext } from './host-paths.js';

const channel = (...paths: string[]): DomainConfig => ({
  channels: paths.map((path, i) => ({ name: `org.dom0.c${i}`, connection: 'socket', u: { socket: { path } } })),
}) as unknown as DomainConfig;
const serial = (...s: string[]): DomainConfig => ({ b_info: { type: 'hvm', u: { hvm: { serial_list: s } } } }) as unknown as DomainConfig;
const none: HostPathContext = { taken: new Map(), yielding: new Set() };

async function refused(config: DomainConfig, message: string, ctx = none): Promise<void> {
  await assert.rejects(checkHostPaths(config, 'g.cfg', ctx), (e: unknown) => {
    assert.ok(isToolstackError(e, 'GUEST_FILE'), String(e));
    assert.equal(e.message, message);
    return true;
  });
}

test('a socket QEMU listens on is made only where nothing, or a stale socket, is (QEMU unlinks the path first), and no other domain listens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-sockets-'));
  const server = createServer();
  try {
    const precious = join(dir, 'precious');
    writeFileSync(precious, 'keep me');
    const live = join(dir, 'live.sock');
    await new Promise<void>((resolve) => server.listen(live, resolve));
    const stale = join(dir, 'stale.sock');
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(stale, resolve));
    // A server that dies without closing leaves its socket file, which nobody answers on.
    execFileSync('cp', ['-a', stale, `${stale}.kept`]);
    await new Promise((resolve) => gone.close(resolve));
    execFileSync('mv', [`${stale}.kept`, stale]);
    await refused(channel(precious), `Cannot use ${precious} for the socket of channel 'org.dom0.c0': a regular file is there, which QEMU would remove to listen there`);
    await refused(channel('qga.sock'), "Cannot use qga.sock for the socket of channel 'org.dom0.c0': the path is relative");
    await refused(channel(live), `Cannot use ${live} for the socket of channel 'org.dom0.c0': a socket something listens on is there, which QEMU would remove to listen there`);
    // QEMU's -serial options: `server` bare, `server=y`, after other options; a path with `,,`.
    for (const s of [`unix:${precious},server,nowait`, `unix:${precious},nowait,server=y`]) {
      await refused(serial(s), `Cannot use ${precious} for the socket of serial port 0: a regular file is there, which QEMU would remove to listen there`);
    }
    writeFileSync(join(dir, 'a,b'), '');
    await refused(serial(`unix:${join(dir, 'a,,b')},server=on`), `Cannot use ${join(dir, 'a,b')} for the socket of serial port 0: a regular file is there, which QEMU would remove to listen there`);
    // Another domain's socket, or one path twice in one config, even where nothing is yet.
    const fresh = join(dir, 'new.sock');
    await refused(channel(fresh), `Cannot use ${fresh} for the socket of channel 'org.dom0.c0': domain 'web' (3) listens there`, { taken: new Map([[fresh, "domain 'web' (3)"]]), yielding: new Set() });
    await refused(serial(`unix:${fresh},server`, `unix:${fresh},server`), `Cannot use ${fresh} for the socket of serial port 1: this domain listens there already (another of its sockets)`);
    assert.equal(readFileSync(precious, 'utf8'), 'keep me');
    // A stale socket, a new path, a client socket and a TCP port pass; an arriving domain's sender (or a preserved domain) yields its live socket.
    for (const ok of [channel(stale), channel(fresh), serial(`unix:${precious}`, 'tcp::4555,server,nowait')]) await checkHostPaths(ok, 'g.cfg', none);
    await checkHostPaths(channel(live), 'g.cfg', { taken: new Map([[live, "domain 'g' (4)"]]), yielding: new Set([live]) });
    assert.deepEqual(listeningPaths({ ...channel(live), ...serial(`unix:${fresh},server`, `unix:${stale}`) }), [live, fresh]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serial files, pipes and terminals: what QEMU writes is a file outside the host\'s own directories, FIFOs, a terminal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-serial-'));
  try {
    const fifo = join(dir, 'a,b');
    execFileSync('mkfifo', [fifo]);
    // file: takes the rest verbatim, commas included (QEMU would block opening the FIFO for writing).
    await refused(serial(`file:${fifo}`), `Cannot use ${fifo} for serial port 0: it is a FIFO, not a file`);
    await refused(serial('file:/etc/shadow'), "Cannot use /etc/shadow for serial port 0: it is in the host's own /etc");
    await refused(serial('file:com1.log'), 'Cannot use com1.log for serial port 0: the path is relative');
    writeFileSync(join(dir, 'p.in'), '');
    await refused(serial(`pipe:${join(dir, 'p')}`), `Cannot use ${join(dir, 'p')} for serial port 0: ${join(dir, 'p.in')} is a file, not a FIFO`);
    await refused(serial(`pipe:${join(dir, 'p.in', 'x')}`), `Cannot use ${join(dir, 'p.in', 'x')} for serial port 0: it cannot be looked at (ENOTDIR)`);
    await refused(serial('/dev/zero'), 'Cannot use /dev/zero for serial port 0: it is a character device but no terminal');
    await refused(serial('/dev/shm'), 'Cannot use /dev/shm for serial port 0: it is a directory, not a terminal');
    execFileSync('mkfifo', [join(dir, 'q.in'), join(dir, 'q.out')]);
    for (const ok of [`file:${join(dir, 'com1.log')}`, `pipe:${join(dir, 'q')}`, '/dev/ptmx']) await checkHostPaths(serial(ok), 'g.cfg', none);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('QEMU is given the serial files, FIFOs and sockets dom0d opened and checked: a directory swapped for a link to another after the checks is never followed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dom0-held-'));
  const run = join(root, 'run');
  const dir = join(root, 'user');
  const victims = join(root, 'victims');
  for (const d of [run, dir, victims]) mkdirSync(d);
  try {
    writeFileSync(join(victims, 'serial.log'), 'root\'s');
    writeFileSync(join(victims, 'ch.sock'), 'root\'s');
    execFileSync('mkfifo', [join(dir, 'p.in'), join(dir, 'p.out')]);
    const config = {
      ...serial(`file:${join(dir, 'serial.log')}`, `pipe:${join(dir, 'p')}`, `unix:${join(dir, 's.sock')},server,nowait`),
      ...channel(join(dir, 'ch.sock')),
    } as DomainConfig;
    const held = holdHostPaths(config, 'g.cfg', [], run);
    try {
      // Every path checked and opened; then the directory becomes a link to another.
      renameSync(dir, `${dir}.moved`);
      symlinkSync(victims, dir);
      const at = (p: string): string => held.paths.get(join(dir, p)) as string;
      // What QEMU does with each, as a process that inherited the descriptors: truncates and
      // writes the file, opens the FIFOs, unlinks and binds the sockets (and unlinks them as it ends).
      const qemu = [
        `printf 'guest output' > '${at('serial.log')}'`,
        `exec 9<> '${at('p')}.out'`,
        ...['ch.sock', 's.sock'].map((s) => `rm -f '${at(s)}' && python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' '${at(s)}'`),
      ].join(' && ');
      const r = spawnSync('/bin/sh', ['-c', qemu], { stdio: ['ignore', 'inherit', 'inherit', ...held.fds] });
      assert.equal(r.status, 0);
    } finally {
      held.close();
    }
    assert.deepEqual(readdirSync(victims).sort(), ['ch.sock', 'serial.log']);
    assert.equal(readFileSync(join(victims, 'serial.log'), 'utf8'), 'root\'s');
    assert.equal(readFileSync(join(victims, 'ch.sock'), 'utf8'), 'root\'s');
    assert.equal(readFileSync(join(`${dir}.moved`, 'serial.log'), 'utf8'), 'guest output');
    assert.deepEqual(readdirSync(run), [], 'the FIFOs\' links go with the hold');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('what dom0d holds for QEMU is checked as opened: a link, a FIFO for a file, no FIFO for a pipe, the host\'s own directories', () => {
  const root = mkdtempSync(join(tmpdir(), 'dom0-held-'));
  try {
    writeFileSync(join(root, 'target'), 'x');
    symlinkSync(join(root, 'target'), join(root, 'link'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    const refusedHold = (s: string, message: RegExp): void => {
      assert.throws(() => holdHostPaths(serial(s), 'g.cfg', [join(root, 'own')], root), (e: unknown) => {
        assert.ok(isToolstackError(e, 'GUEST_FILE'), String(e));
        assert.match(e.message, message);
        return true;
      });
    };
    refusedHold(`file:${join(root, 'link')}`, /: it is a symlink \(QEMU is given no link\)$/);
    refusedHold(`file:${join(root, 'fifo')}`, /: it is a FIFO, not a file$/);
    refusedHold(`pipe:${join(root, 'target')}`, /: it is a file, not a FIFO$/);
    refusedHold(`pipe:${join(root, 'none')}`, /: there is no FIFO there$/);
    mkdirSync(join(root, 'own'));
    refusedHold(`file:${join(root, 'own', 'x.log')}`, new RegExp(`: it is in the host's own ${join(root, 'own')}$`));
    assert.deepEqual(readdirSync(root).sort(), ['fifo', 'link', 'own', 'target']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
