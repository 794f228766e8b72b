import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage, FrameReader, FrameTooLarge, XsType } from './wire.js';

const frames = [
  encodeMessage(XsType.READ, 1, 0, Buffer.from('/a\0')),
  encodeMessage(XsType.WRITE, 2, 7, Buffer.from(`/b\0${'v'.repeat(300)}`)),
  encodeMessage(XsType.DIRECTORY, 3, 0, Buffer.alloc(0)),
  encodeMessage(XsType.WATCH, 4, 0, Buffer.from('/c\0tok\0')),
];
const stream = Buffer.concat(frames);

function taken(r: FrameReader): string[] {
  const out: string[] = [];
  for (let m = r.next(); m !== undefined; m = r.next()) out.push(`${m.type}/${m.reqId}/${m.txId}/${m.payload.toString('latin1')}`);
  return out;
}

const expected = taken(((r) => (r.append(stream), r))(new FrameReader()));

test('frames come out whole however the stream is cut: at every byte, one byte at a time, many at once', () => {
  assert.equal(expected.length, 4);
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new FrameReader();
    r.append(stream.subarray(0, cut));
    const first = taken(r);
    r.append(stream.subarray(cut));
    assert.deepEqual([...first, ...taken(r)], expected, `cut at ${cut}`);
    assert.equal(r.buffered, 0);
  }
  const r = new FrameReader();
  const got: string[] = [];
  for (let i = 0; i < stream.length; i++) {
    r.append(stream.subarray(i, i + 1));
    got.push(...taken(r));
  }
  assert.deepEqual(got, expected);
  // Many frames waiting in many chunks (an in-process client's burst): each is taken once.
  const burst = new FrameReader();
  for (let i = 0; i < 5000; i++) burst.append(frames[i % 4]!);
  assert.equal(taken(burst).length, 5000);
});

test('an oversized length field throws, after the frames before it', () => {
  const r = new FrameReader();
  const bad = Buffer.alloc(16);
  bad.writeUInt32LE(5000, 12);
  r.append(Buffer.concat([frames[0]!, bad]));
  assert.equal(r.next()?.reqId, 1);
  assert.throws(() => r.next(), FrameTooLarge);
});
