import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { MAX_DOMAIN_NAME_BYTES } from '../common/index.js';
import { migrationName, openFifo, StreamReader, withStandInReader } from './migration-stream.js';

/** A sink that keeps what it is given, slowly: it asks its writer to wait now and then. */
function slowSink(): { sink: Writable; bytes: () => Buffer } {
  const got: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(c: Buffer, _enc, done) {
      got.push(Buffer.from(c));
      setImmediate(done);
    },
  });
  return { sink, bytes: () => Buffer.concat(got) };
}

test('a relay hands on all the stream brings until its end is said, then leaves what follows to the reader', async () => {
  const stream = randomBytes(5 << 20);
  const pipe = new PassThrough();
  const reader = new StreamReader(pipe);
  const { sink, bytes } = slowSink();
  let loaded!: () => void;
  const done = new Promise<void>((r) => (loaded = r));
  const received = reader.relayUntil(sink, 'QEMU', done);
  for (let off = 0; off < stream.length; off += 100_000) pipe.write(stream.subarray(off, off + 100_000));
  await new Promise((r) => setTimeout(r, 50));
  while (bytes().length < stream.length) await new Promise((r) => setTimeout(r, 5));
  loaded();
  await received;
  assert.ok(bytes().equals(stream));
  pipe.end('go');
  assert.equal((await reader.read(2, 'message')).toString(), 'go');
});

test('a relay fails with its end\'s reason, when its sink closes, and when the stream ends first', async () => {
  const pipe = new PassThrough();
  pipe.write(Buffer.alloc(5));
  await assert.rejects(new StreamReader(pipe).relayUntil(new PassThrough(), 'QEMU', Promise.reject(new Error('create failed'))), /create failed/);
  const cut = new PassThrough();
  cut.end(Buffer.alloc(5));
  await assert.rejects(new StreamReader(cut).relayUntil(new PassThrough(), 'QEMU', new Promise(() => undefined)), /the stream ended before the domain's state was complete/);
  const closed = new PassThrough({ highWaterMark: 1 });
  closed.destroy();
  const pipe3 = new PassThrough();
  pipe3.write(Buffer.alloc(10));
  await assert.rejects(new StreamReader(pipe3).relayUntil(closed, 'QEMU', new Promise(() => undefined)), /QEMU stopped taking the stream/);
});

test('a migration pipe is open at both ends at once; once its transport exited, a writer opening it is not left waiting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-fifo-test-'));
  try {
    const pipe = openFifo(join(dir, 'stream'));
    writeSync(pipe.writeFd, 'hello');
    const got = Buffer.alloc(5);
    assert.equal(readSync(pipe.readFd, got), 5);
    assert.equal(got.toString(), 'hello');
    // The transport (the pipe's only reader) is gone; QEMU's side opens the pipe after that.
    closeSync(pipe.readFd);
    closeSync(pipe.writeFd);
    const transport = spawn('true');
    await new Promise((r) => transport.once('exit', r));
    const qemuSide = (async (): Promise<number> => {
      const w = await open(pipe.path, 'w');
      try {
        return (await w.write(Buffer.alloc(100_000))).bytesWritten;
      } finally {
        await w.close();
      }
    })();
    assert.equal(await withStandInReader(transport, pipe.path, qemuSide), 100_000);
    assert.throws(() => openFifo(join(dir, 'stream')), /Cannot make the migration pipe/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a migrating domain\'s names are NAME--incoming and NAME--migratedaway, as Xen\'s; for a name too long for that, one that fits and names it alone', () => {
  const incomingName = (n: string): string => migrationName(n, '--incoming');
  assert.equal(Buffer.byteLength(migrationName('a'.repeat(MAX_DOMAIN_NAME_BYTES), '--migratedaway')), MAX_DOMAIN_NAME_BYTES);
  assert.equal(incomingName('web'), 'web--incoming');
  const fits = 'a'.repeat(MAX_DOMAIN_NAME_BYTES - 10);
  assert.equal(incomingName(fits), `${fits}--incoming`);
  // Before: names of 235-244 bytes could not be migrated (the receiver's name was refused).
  for (const long of ['a'.repeat(MAX_DOMAIN_NAME_BYTES), `${'é'.repeat(112)}x${'ü'.repeat(5)}`, `${'a'.repeat(MAX_DOMAIN_NAME_BYTES - 1)}b`]) {
    const n = incomingName(long);
    assert.ok(Buffer.byteLength(n) <= MAX_DOMAIN_NAME_BYTES, n);
    assert.match(n, /~[0-9a-f]{8}--incoming$/);
    assert.ok(long.startsWith(n.replace(/~[0-9a-f]{8}--incoming$/, '')));
  }
  assert.notEqual(incomingName('a'.repeat(MAX_DOMAIN_NAME_BYTES)), incomingName(`${'a'.repeat(MAX_DOMAIN_NAME_BYTES - 1)}b`));
});
