import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DomainEvents, DomainRegistry } from '../domain/index.js';
import { chardevLogFile, consoleIdFor, consoleIds, consoleKindOf, primaryConsole } from './endpoints.js';
import { ConsoleHub } from './hub.js';
import { ConsoleSource } from './source.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-console-src-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A stand-in for one QEMU socket chardev with `logfile=`: the guest's bytes go to the connected
 * client (if any) and, always, to the log file, as QEMU's chardev layer does.
 */
class FakeChardev {
  readonly socket: string;
  readonly logFile: string;
  readonly received: Buffer[] = [];
  #server: Server;
  #client: Socket | null = null;

  private constructor(socket: string, logFile: string, server: Server) {
    this.socket = socket;
    this.logFile = logFile;
    this.#server = server;
    server.on('connection', (c) => {
      this.#client = c;
      c.on('data', (d: Buffer) => this.received.push(d));
      c.on('close', () => {
        if (this.#client === c) this.#client = null;
      });
    });
  }

  static async start(name: string): Promise<FakeChardev> {
    const socket = join(root, `${name}.sock`);
    const server = createServer();
    await new Promise<void>((r) => server.listen(socket, r));
    const c = new FakeChardev(socket, join(root, `${name}.log`), server);
    appendFileSync(c.logFile, '');
    return c;
  }

  guestWrites(text: string): void {
    this.#client?.write(text);
    appendFileSync(this.logFile, text);
  }

  stop(): Promise<void> {
    this.#client?.destroy();
    return new Promise((r) => this.#server.close(() => r()));
  }
}

function sink(): { text: () => string; write: (c: Uint8Array) => void; flushed: () => Promise<void> } {
  const chunks: Buffer[] = [];
  return { text: () => Buffer.concat(chunks).toString(), write: (c) => chunks.push(Buffer.from(c)), flushed: async () => undefined };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('ConsoleSource takes output from the log file exactly once across a reconnect, and sends input', async () => {
  const qemu = await FakeChardev.start('a');
  qemu.guestWrites('before attach\n');
  const out = sink();
  const src = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, out, { saveIntervalMs: 5 });
  assert.equal(out.text(), 'before attach\n');
  qemu.guestWrites('live\n');
  await until(() => out.text() === 'before attach\nlive\n', `live output, got ${JSON.stringify(out.text())}`);
  assert.ok(src.write(Buffer.from('ls\r')));
  await until(() => Buffer.concat(qemu.received).toString() === 'ls\r', 'input reached the chardev');
  await src.close();
  assert.equal(readFileSync(`${qemu.logFile}.offset`, 'utf8'), '19\n');
  assert.equal(src.write(Buffer.from('x')), false);
  qemu.guestWrites('while away\n');
  const again = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, out);
  assert.equal(out.text(), 'before attach\nlive\nwhile away\n');
  await again.close();
  await qemu.stop();
});

test('ConsoleSource without a log file passes the socket bytes through; ends when QEMU closes', async () => {
  const qemu = await FakeChardev.start('b');
  const out = sink();
  const src = await ConsoleSource.open({ socket: qemu.socket }, out);
  qemu.guestWrites('hello\n');
  await until(() => out.text() === 'hello\n', 'socket output');
  await qemu.stop();
  await src.ended;
  assert.equal(src.connected, false);
});

test('ConsoleSource fails with IO when the socket never appears', async () => {
  await assert.rejects(ConsoleSource.open({ socket: join(root, 'none.sock') }, sink(), { connectTimeoutMs: 50 }), { code: 'IO' });
});

test('chardevLogFile reads logfile= of the matching -chardev, with QEMU comma escapes', () => {
  const argv = ['qemu', '-chardev', 'socket,id=console0,path=/r/c.sock,server=on,wait=off,logfile=/l/a,,b.log,logappend=on',
    '-chardev', 'socket,id=serial0,path=/r/s.sock,server=on,wait=off'];
  assert.equal(chardevLogFile(argv, 'console0'), '/l/a,b.log');
  assert.equal(chardevLogFile(argv, 'serial0'), undefined);
  assert.equal(chardevLogFile(argv, 'serial1'), undefined);
});

test('ConsoleHub streams replay then live output to a client, and its keystrokes to the guest', async () => {
  const qemu = await FakeChardev.start('c');
  const events = new DomainEvents();
  const hub = new ConsoleHub(join(root, 'logs-c'), { endpointOf: () => ({ socket: qemu.socket, logFile: qemu.logFile }) });
  hub.follow(events);
  const reg = await DomainRegistry.open(join(root, 'domains-c'), { events });
  const rec0 = await reg.reserve({ name: 'g', config: { c_info: { type: 'pv' } }, memKiB: 1024, vcpus: 1 });
  const rec = await reg.update(rec0.domid, { sockets: { console0: qemu.socket } });
  qemu.guestWrites('early\n');
  await hub.connect(rec);
  qemu.guestWrites('boot\n');
  const log = await hub.log(rec.domid, 'console0');
  assert.equal(log, await hub.get(rec.domid));
  await until(() => log?.replay().toString() === 'early\nboot\n', `replay, got ${JSON.stringify(log?.replay().toString())}`);
  const server = createServer((c) => void hub.stream(rec.domid, 'console0', c));
  const path = join(root, 'client.sock');
  await new Promise<void>((r) => server.listen(path, r));
  const client = connect(path);
  let seen = '';
  client.on('data', (d: Buffer) => {
    seen += d.toString();
  });
  await until(() => seen === 'early\nboot\n', `replay to client, got ${JSON.stringify(seen)}`);
  qemu.guestWrites('more\n');
  await until(() => seen === 'early\nboot\nmore\n', 'live to client');
  client.write('uname\r');
  await until(() => Buffer.concat(qemu.received).toString() === 'uname\r', 'keystrokes to the guest');
  const ended = new Promise((r) => client.on('close', r));
  await reg.transition(rec.domid, 'dying');
  await reg.transition(rec.domid, 'destroyed');
  await ended;
  await hub.closeAll();
  await new Promise((r) => server.close(r));
  await qemu.stop();
});

test('console selection follows libxl and xenconsole: primary, serial falling back to pv, channels as pv N', () => {
  const pv = { sockets: { qmp: '/q', console0: '/c0', channel0: '/ch0' } };
  const hvm = { sockets: { qmp: '/q', serial0: '/s0', serial1: '/s1' } };
  assert.deepEqual(consoleIds(pv), ['channel0', 'console0']);
  assert.deepEqual(primaryConsole({ c_info: { type: 'hvm' } }), { kind: 'serial', num: 0 });
  assert.deepEqual(primaryConsole({ c_info: { type: 'pvh' } }), { kind: 'pv', num: 0 });
  assert.equal(consoleIdFor(pv, 'pv', 0), 'console0');
  assert.equal(consoleIdFor(pv, 'pv', 1), 'channel0');
  assert.equal(consoleIdFor(pv, 'serial', 0), 'console0');
  assert.equal(consoleIdFor(pv, 'pv', 2), undefined);
  assert.equal(consoleIdFor(hvm, 'serial', 1), 'serial1');
  assert.equal(consoleIdFor(hvm, 'pv', 0), undefined);
  assert.equal(consoleIdFor(hvm, 'vuart', 0), undefined);
  assert.deepEqual(consoleKindOf('channel0'), { kind: 'pv', num: 1 });
  assert.deepEqual(consoleKindOf('serial1'), { kind: 'serial', num: 1 });
});
