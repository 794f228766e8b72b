// Clients that never read, and clients in numbers: what they may hold of xenstored's memory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XenstoredHandle } from './index.js';
import { startXenstored, XenstoreClient } from './index.js';
import { encodeMessage, XsType } from './wire.js';

function frame(type: number, ...args: string[]): Buffer {
  return encodeMessage(type, 1, 0, Buffer.from(args.map((a) => `${a}\0`).join(''), 'latin1'));
}

/** A raw client that does not read until asked to. */
async function rawClient(socket: string): Promise<Socket> {
  const s = createConnection(socket);
  s.pause();
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

function closed(s: Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));
}

/**
 * Whether xenstored has closed a client that reads nothing (a paused socket never sees the end):
 * a write to it fails once it has.
 */
function probe(s: Socket): boolean {
  if (!s.destroyed) s.write(frame(XsType.READ, '/probe'), () => undefined);
  return s.destroyed;
}

/** Reads replies until `count` frames came; resolves with their payload lengths. */
function readFrames(s: Socket, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const lengths: number[] = [];
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
        lengths.push(buf.readUInt32LE(12));
        buf = buf.subarray(16 + buf.readUInt32LE(12));
      }
      if (lengths.length >= count) resolve(lengths);
    });
    s.once('close', () => reject(new Error(`closed after ${lengths.length} of ${count} frames`)));
    s.resume();
  });
}

const MiB = 1024 * 1024;

describe('xenstored bounds', () => {
  let dir: string;
  let xs: XenstoredHandle;
  let dom0: XenstoreClient;
  const logs: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xs-bounds-'));
    xs = await startXenstored({ socketPath: join(dir, 'socket'), stateDir: join(dir, 'state'), maxConnections: 40, log: (l) => logs.push(l) });
    dom0 = xs.connect();
  });
  after(async () => {
    dom0.close();
    await xs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('queues no more replies than a socket takes for clients that send and never read, and loses none', async () => {
    await dom0.write('/big', 'x'.repeat(4000));
    const clients = await Promise.all(Array.from({ length: 4 }, () => rawClient(xs.socketPath)));
    const n = 20_000;
    const reads = Buffer.concat(Array.from({ length: n }, () => frame(XsType.READ, '/big')));
    global.gc?.();
    const base = process.memoryUsage().arrayBuffers;
    for (const c of clients) c.write(reads);
    await new Promise((r) => setTimeout(r, 500));
    // Before: each client's first 64 KiB of requests were all answered into its buffer (~13 MB each).
    const grown = process.memoryUsage().arrayBuffers - base;
    assert.ok(grown < 8 * MiB, `buffers grew by ${(grown / MiB).toFixed(1)} MiB`);
    assert.equal(await dom0.readString('/big'), 'x'.repeat(4000), 'others are served meanwhile');
    for (const lengths of await Promise.all(clients.map((c) => readFrames(c, n)))) {
      assert.equal(lengths.length, n);
      assert.ok(lengths.every((l) => l === 4000));
    }
    for (const c of clients) c.destroy();
  });

  it('drops watchers that take no events once their backlog is too large; one that reads keeps up', { timeout: 120_000 }, async () => {
    const token = 't'.repeat(1000);
    const idle = await Promise.all(Array.from({ length: 20 }, () => rawClient(xs.socketPath)));
    for (const [i, c] of idle.entries()) c.write(frame(XsType.WATCH, '/', `${i}${token}`));
    const reader = await XenstoreClient.connect(xs.socketPath);
    const watch = await reader.watch('/');
    await watch.next();
    let seen = 0;
    let reading = true;
    const counting = (async () => {
      while (reading) {
        await watch.next();
        seen++;
      }
    })().catch(() => undefined);
    const long = `/w/${'p'.repeat(1500)}`;
    let writes = 0;
    // 20 events of ~2.5 KB per write: the 32 MiB budget is passed after ~650 writes.
    while (!idle.every(probe) && writes < 8000) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => dom0.write(`${long}/k${i}`, String(writes + i))));
      writes += 50;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(idle.every((s) => s.destroyed), `${idle.filter((s) => !s.destroyed).length} of 20 left after ${writes} writes`);
    assert.ok(logs.some((l) => /dropped client \d+ \(dom0\): its unread output and every other client's passed 32 MiB/.test(l)), logs.join('\n'));
    await dom0.write('/after', 'ok');
    while (seen < writes + 1) await new Promise((r) => setTimeout(r, 20));
    reading = false;
    assert.equal(await reader.readString('/after'), 'ok');
    reader.close();
    await counting;
  });

  it('drops a lone watcher whose own backlog passes 8 MiB', { timeout: 120_000 }, async () => {
    const idle = await rawClient(xs.socketPath);
    idle.write(frame(XsType.WATCH, '/', 'x'.repeat(2000)));
    const long = `/v/${'q'.repeat(2000)}`;
    let writes = 0;
    while (!probe(idle) && writes < 6000) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => dom0.write(`${long}/k${i}`, String(writes + i))));
      writes += 100;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(idle.destroyed && writes > 1500, `gone: ${idle.destroyed} after ${writes} writes`);
    assert.ok(logs.some((l) => /its unread output passed 8 MiB/.test(l)), logs.join('\n'));
  });

  it('counts a watcher\'s unread events with what each costs besides its bytes: one of small events goes long before 8 MiB of them (~100 MB held)', { timeout: 120_000 }, async () => {
    const idle = await rawClient(xs.socketPath);
    idle.write(frame(XsType.WATCH, '/', 't'));
    let writes = 0;
    // Events of 21 bytes: 8 MiB of them are 400,000; with what each costs counted, ~30,000.
    while (!probe(idle) && writes < 80_000) {
      await Promise.all(Array.from({ length: 200 }, () => dom0.write('/a', '')));
      writes += 200;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(idle.destroyed && writes < 40_000, `gone: ${idle.destroyed} after ${writes} writes`);
  });

  it('closes clients past maxConnections as they come, and serves the rest', async () => {
    const open = await Promise.all(Array.from({ length: 40 }, () => rawClient(xs.socketPath)));
    const extra = await rawClient(xs.socketPath);
    extra.resume();
    await closed(extra);
    open.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const c = await XenstoreClient.connect(xs.socketPath);
    assert.equal(await c.readString('/after'), 'ok');
    c.close();
    for (const s of open) s.destroy();
  });

  it('a domain socket\'s clients hold at most an eighth of maxConnections, the domain sockets\' three quarters: dom0 keeps the rest', async () => {
    const held: Socket[] = [];
    const connectable = async (path: string, n: number): Promise<number> => {
      let served = 0;
      for (let i = 0; i < n; i++) {
        const s = await rawClient(path);
        held.push(s);
        s.resume();
        const gone = await Promise.race([closed(s).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))]);
        if (!gone) served++;
      }
      return served;
    };
    await new Promise((r) => setTimeout(r, 100)); // the last test's clients closed
    try {
      for (let d = 11; d <= 17; d++) await dom0.introduce(d);
      assert.equal(await connectable(xs.domainSocketPath(11), 8), 5, 'an eighth of 40 for one domain');
      for (let d = 12; d <= 17; d++) await connectable(xs.domainSocketPath(d), 5);
      assert.equal(await connectable(xs.domainSocketPath(17), 1), 0, 'three quarters of 40 for the domain sockets');
      assert.equal(await connectable(xs.socketPath, 10), 10, 'dom0\'s quarter');
    } finally {
      for (const s of held) s.destroy();
      for (let d = 11; d <= 17; d++) await dom0.release(d).catch(() => undefined);
    }
  });
});
