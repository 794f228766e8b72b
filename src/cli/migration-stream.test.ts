import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { END_FRAME, framesInto, StreamReader } from './migration-stream.js';

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

test('a state stream framed by the sender comes out whole at the receiver, then what follows it', async () => {
  const stream = randomBytes(5 << 20);
  const source = new PassThrough();
  const pipe = new PassThrough();
  const reader = new StreamReader(pipe);
  const { sink, bytes } = slowSink();
  let checks = 0;
  const received = reader.relayFrames(sink, 'QEMU', () => void checks++);
  const sent = framesInto(source, pipe, 'the receiver');
  for (let off = 0; off < stream.length; off += 100_000) source.write(stream.subarray(off, off + 100_000));
  source.end();
  await sent;
  pipe.write(END_FRAME);
  pipe.end('go');
  await received;
  assert.ok(bytes().equals(stream));
  assert.ok(checks > 0);
  assert.equal((await reader.read(2, 'message')).toString(), 'go');
});

test('a relay fails when its sink closes, and when the check throws; a stream cut in a frame is an error', async () => {
  const pipe = new PassThrough();
  const reader = new StreamReader(pipe);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(10, 0);
  pipe.write(Buffer.concat([head, Buffer.alloc(5)]));
  pipe.end();
  await assert.rejects(reader.relayFrames(new PassThrough(), 'QEMU', () => undefined), /the stream ended before the stream frame/);
  const pipe2 = new PassThrough();
  const r2 = new StreamReader(pipe2);
  pipe2.write(Buffer.concat([head, Buffer.alloc(10)]));
  await assert.rejects(r2.relayFrames(new PassThrough(), 'QEMU', () => {
    throw new Error('create failed');
  }), /create failed/);
  const closed = new PassThrough({ highWaterMark: 1 });
  closed.destroy();
  const pipe3 = new PassThrough();
  pipe3.write(Buffer.concat([head, Buffer.alloc(10)]));
  await assert.rejects(new StreamReader(pipe3).relayFrames(closed, 'QEMU', () => undefined), /QEMU stopped taking the stream/);
});
