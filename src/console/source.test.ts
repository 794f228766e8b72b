import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DomainEvents, DomainRegistry } from '../domain/index.js';
import type { DomainConsole, DomainRecord } from '../domain/index.js';
import { consoleName, findConsole, primaryConsoleName } from './endpoints.js';
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
      c.on('error', () => c.destroy()); // a client gone mid-write: QEMU drops the bytes too
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

  /** The guest stops taking input (paused, or not reading its console): QEMU stops reading the socket. */
  stopReading(): void {
    this.#client?.pause();
  }

  resumeReading(): void {
    this.#client?.resume();
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

function sink(): { text: () => string; preloaded: () => string; write: (c: Uint8Array) => void; preload: (c: Uint8Array) => void; capacity: number; flushed: () => Promise<void> } {
  const chunks: Buffer[] = [];
  const early: Buffer[] = [];
  return {
    text: () => Buffer.concat(chunks).toString(),
    preloaded: () => Buffer.concat(early).toString(),
    write: (c) => chunks.push(Buffer.from(c)),
    preload: (c) => early.push(Buffer.from(c)),
    capacity: 8,
    flushed: async () => undefined,
  };
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
  const out2 = sink();
  const again = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, out2);
  assert.equal(out2.preloaded(), 'ch\nlive\n', 'the last `capacity` bytes taken in before, for replay');
  assert.equal(out2.text(), 'while away\n');
  await again.close();
  await qemu.stop();
});

test('ConsoleSource whose log file the kernel refuses to watch (inotify watches exhausted) reads it on a timer: no output is lost', async () => {
  const qemu = await FakeChardev.start('unwatched');
  const out = sink();
  const errors: string[] = [];
  let watches = 0;
  const refusing = (file: string, listener: () => void): FSWatcher => {
    if (++watches > 1) throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached, watch'), { code: 'ENOSPC' });
    return watch(file, listener);
  };
  const src = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, out, { watch: refusing, onError: (e) => errors.push(String(e)) });
  let expected = '';
  for (let burst = 0; burst < 20; burst++) {
    for (let i = 0; i < 50; i++) {
      const line = `burst ${String(burst)} line ${String(i)}\n`;
      qemu.guestWrites(line);
      expected += line;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await until(() => out.text() === expected, `all output, got ${String(out.text().length)} of ${String(expected.length)} bytes`);
  // Quiet, then more in the file alone (no socket byte to wake the source): the timer finds it.
  await new Promise((r) => setTimeout(r, 300));
  appendFileSync(qemu.logFile, 'after a pause\n');
  await until(() => out.text().endsWith('after a pause\n'), 'output after a pause');
  assert.ok(watches > 1);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0] ?? '', /cannot watch it \(ENOSPC.*\): read every 250 ms instead/);
  await src.close();
  await qemu.stop();
});

test('ConsoleSource frees the disk blocks of the feed a replay no longer needs; offsets, replay and a restart stay right', async () => {
  const qemu = await FakeChardev.start('spam');
  const out = sink();
  const capacity = 64 * 1024;
  const step = 256 * 1024;
  const src = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, { ...out, capacity }, { saveIntervalMs: 5, trimStepBytes: step });
  // A guest printing without end: 4 MiB in lines, each line naming its number.
  const lines = 40_000;
  let written = 0;
  for (let i = 0; i < lines; i++) {
    const line = `line ${String(i).padStart(8, '0')} ${'x'.repeat(84)}\n`;
    qemu.guestWrites(line);
    written += line.length;
    if (i % 2000 === 0) await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => out.text().length === written, 'everything read');
  await until(() => statSync(qemu.logFile).blocks * 512 <= capacity + 2 * step + 64 * 1024, `disk use bounded, ${statSync(qemu.logFile).blocks * 512} bytes allocated`);
  assert.equal(statSync(qemu.logFile).size, written, 'the file keeps its size: offsets stay valid');
  const text = out.text();
  assert.ok(text.startsWith('line 00000000 ') && text.endsWith(`line ${String(lines - 1).padStart(8, '0')} ${'x'.repeat(84)}\n`), 'each byte once, in order');
  await src.close();
  // A restart replays the last capacity's worth: never from a freed block.
  const out2 = sink();
  const again = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, { ...out2, capacity });
  assert.equal(out2.preloaded(), text.slice(-capacity));
  assert.ok(!out2.preloaded().includes('\0'));
  await again.close();
  await qemu.stop();
});

test('ConsoleSource opens, saves its offset, drains and closes while the guest goes on writing', async () => {
  const qemu = await FakeChardev.start('endless');
  const out = sink();
  let n = 0;
  const writer = setInterval(() => {
    for (let i = 0; i < 20; i++) qemu.guestWrites(`${n++}\n`);
  }, 1);
  try {
    await new Promise((r) => setTimeout(r, 50));
    const src = await ConsoleSource.open({ socket: qemu.socket, logFile: qemu.logFile }, out, { saveIntervalMs: 5 });
    await new Promise((r) => setTimeout(r, 200));
    const saved = Number(readFileSync(`${qemu.logFile}.offset`, 'utf8'));
    assert.ok(saved > 0 && saved <= out.text().length, `the offset is saved as output goes on (${saved})`);
    const before = statSync(qemu.logFile).size;
    await src.drain();
    assert.ok(out.text().length >= before, 'drain took in what the file held when it was called');
    await src.close();
    assert.equal(src.connected, false);
  } finally {
    clearInterval(writer);
  }
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

/** A hub following events of a registry that holds domain `name`, whose console0 is `qemu`'s (tty `<tag>.tty`). */
async function hubWithDomain(tag: string, name: string, qemu: FakeChardev): Promise<{ hub: ConsoleHub; reg: DomainRegistry; rec: DomainRecord }> {
  const events = new DomainEvents();
  const hub = new ConsoleHub(join(root, `logs-${tag}`));
  hub.follow(events);
  const reg = await DomainRegistry.open(join(root, `domains-${tag}`), { events });
  const rec0 = await reg.reserve({ config: { c_info: { type: 'pv', name } } });
  const consoles: DomainConsole[] = [{ id: 'console0', kind: 'pv', index: 0, socket: qemu.socket, feed: qemu.logFile, tty: join(root, `${tag}.tty`) }];
  return { hub, reg, rec: await reg.update(rec0.domid, { consoles }) };
}

/** A client of console0 of `domid` through `hub.stream`, on a socket of its own; `seen`: what it has received. */
async function streamClient(hub: ConsoleHub, domid: number, tag: string): Promise<{ server: Server; client: Socket; seen: () => string }> {
  const server = createServer((c) => void hub.stream(domid, 'console0', c).catch(() => c.destroy()));
  const path = join(root, `${tag}-client.sock`);
  await new Promise<void>((r) => server.listen(path, r));
  const client = connect(path);
  let seen = '';
  client.on('data', (d: Buffer) => {
    seen += d.toString();
  });
  return { server, client, seen: () => seen };
}

test('ConsoleHub streams replay then live output to a client, and its keystrokes to the guest', async () => {
  const qemu = await FakeChardev.start('c');
  const { hub, reg, rec } = await hubWithDomain('c', 'g', qemu);
  qemu.guestWrites('early\n');
  await hub.connect(rec);
  qemu.guestWrites('boot\n');
  const log = await hub.log(rec.domid, 'console0');
  assert.equal(log?.path, join(root, 'logs-c', 'console', 'g', 'console0.log'));
  await until(() => log?.replay().toString() === 'early\nboot\n', `replay, got ${JSON.stringify(log?.replay().toString())}`);
  const { server, client, seen } = await streamClient(hub, rec.domid, 'c');
  await until(() => seen() === 'early\nboot\n', `replay to client, got ${JSON.stringify(seen())}`);
  qemu.guestWrites('more\n');
  await until(() => seen() === 'early\nboot\nmore\n', 'live to client');
  client.write('uname\r');
  await until(() => Buffer.concat(qemu.received).toString() === 'uname\r', 'keystrokes to the guest');
  // The tty socket serves the same console to any outside client, replay first.
  const outside = connect(join(root, 'c.tty'));
  let seenOutside = '';
  outside.on('data', (d: Buffer) => {
    seenOutside += d.toString();
  });
  await until(() => seenOutside === 'early\nboot\nmore\n', `replay on the tty, got ${JSON.stringify(seenOutside)}`);
  outside.write('id\r');
  await until(() => Buffer.concat(qemu.received).toString() === 'uname\rid\r', 'keystrokes from the tty');
  await reg.rename(rec.domid, 'g2');
  await hub.idle();
  await log?.flushed();
  assert.equal(readFileSync(join(root, 'logs-c', 'console', 'g2', 'console0.log'), 'utf8'), 'early\nboot\nmore\n');
  const ended = new Promise((r) => client.on('close', r));
  await reg.transition(rec.domid, 'dying');
  await reg.transition(rec.domid, 'destroyed');
  await ended;
  await hub.closeAll();
  await new Promise((r) => server.close(r));
  await qemu.stop();
});

test('ConsoleHub: a console whose connect failed (its socket not there, no descriptor left) is connected when a client asks for it', async () => {
  const events = new DomainEvents();
  const hub = new ConsoleHub(join(root, 'logs-late'), { source: { connectTimeoutMs: 50 } });
  hub.follow(events);
  const reg = await DomainRegistry.open(join(root, 'domains-late'), { events });
  const rec0 = await reg.reserve({ config: { c_info: { type: 'pv', name: 'late' } } });
  const socket = join(root, 'late.sock');
  const rec = await reg.update(rec0.domid, { consoles: [{ id: 'console0', kind: 'pv', index: 0, socket, feed: join(root, 'late.log'), tty: join(root, 'late.tty') }] });
  await assert.rejects(hub.connect(rec), (e: unknown) => e instanceof Error && /late\.sock/.test(e.message));
  const qemu = await FakeChardev.start('late');
  qemu.guestWrites('hello\n');
  const { server, client, seen } = await streamClient(hub, rec.domid, 'late');
  await until(() => seen() === 'hello\n', `the console, got ${JSON.stringify(seen())}`);
  client.destroy();
  await hub.closeAll();
  await new Promise((r) => server.close(r));
  await qemu.stop();
});

test('a client typing into a guest that takes no input is held back: nothing piles up in dom0d', async () => {
  const qemu = await FakeChardev.start('deaf');
  const { hub, reg, rec } = await hubWithDomain('deaf', 'deaf', qemu);
  await hub.connect(rec);
  qemu.stopReading();
  const client = connect(join(root, 'deaf.tty'));
  await new Promise((r) => client.once('connect', r));
  // The client writes 64 MiB as fast as the socket takes it.
  const chunk = Buffer.alloc(1 << 20, 0x61);
  let sent = 0;
  let blocked = false;
  while (sent < 64 && !blocked) {
    if (!client.write(chunk)) {
      const drained = await Promise.race([new Promise((r) => client.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 1000))]);
      blocked = drained === false;
    }
    sent++;
  }
  assert.ok(blocked, `the client was held back (it sent ${sent} MiB)`);
  assert.ok(process.memoryUsage().rss < 400 << 20, 'no pile-up in this process (dom0d\'s side)');
  qemu.resumeReading();
  await until(() => qemu.received.reduce((n, b) => n + b.length, 0) >= (sent - 1) << 20, 'the input flows again once the guest reads');
  client.destroy();
  await reg.transition(rec.domid, 'dying');
  await reg.transition(rec.domid, 'destroyed');
  await hub.closeAll();
  await qemu.stop();
});

test('console selection follows libxl and xenconsole: primary, serial falling back to pv, channels as pv N', () => {
  const c = <K extends DomainConsole['kind']>(id: string, kind: K, index: number): DomainConsole & { kind: K } => ({ id, kind, index, socket: `/${id}`, feed: `/${id}.log`, tty: `/${id}.tty` });
  // Every domain has the debug port too: xl never names it.
  const pv = { consoles: [c('console0', 'pv', 0), c('channel0', 'channel', 0), c('debug0', 'debug', 0)] };
  const hvm = { consoles: [c('debug0', 'debug', 0), c('serial0', 'serial', 0), c('serial1', 'serial', 1)] };
  assert.deepEqual(primaryConsoleName('hvm'), { type: 'serial', num: 0 });
  assert.deepEqual(primaryConsoleName('pvh'), { type: 'pv', num: 0 });
  assert.equal(findConsole(pv, 'pv', 0)?.id, 'console0');
  assert.equal(findConsole(pv, 'pv', 1)?.id, 'channel0');
  assert.equal(findConsole(pv, 'serial', 0)?.id, 'console0');
  assert.equal(findConsole(pv, 'pv', 2), undefined);
  assert.equal(findConsole(hvm, 'serial', 1)?.id, 'serial1');
  assert.equal(findConsole(hvm, 'pv', 0), undefined);
  assert.equal(findConsole(hvm, 'vuart', 0), undefined);
  assert.deepEqual(consoleName(c('channel0', 'channel', 0)), { type: 'pv', num: 1 });
  assert.deepEqual(consoleName(c('serial1', 'serial', 1)), { type: 'serial', num: 1 });
});

test('a console client that went is not held by dom0d until the console ends', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const qemu = await FakeChardev.start('w');
  const { hub, reg, rec } = await hubWithDomain('w', 'w', qemu);
  await hub.connect(rec);
  const refs: Array<WeakRef<PassThrough>> = [];
  try {
    for (let i = 0; i < 30; i++) {
      const client = new PassThrough();
      await hub.stream(rec.domid, 'console0', client);
      refs.push(new WeakRef(client));
      await new Promise((r) => {
        client.once('close', r);
        client.destroy();
      });
    }
    for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    // Before, every one stayed until the console ended; V8 itself may keep one object for a while.
    const kept = refs.filter((r) => r.deref() !== undefined).length;
    assert.ok(kept <= 1, `closed clients are collected while the console runs on: ${kept} of ${refs.length} kept`);
  } finally {
    await reg.transition(rec.domid, 'dying');
    await reg.transition(rec.domid, 'destroyed');
    await hub.closeAll();
    await qemu.stop();
  }
});
