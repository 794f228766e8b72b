import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleRing } from './ring.js';

test('ConsoleRing keeps the last capacity bytes in order across wrap-around', () => {
  const r = new ConsoleRing(8);
  r.write(Buffer.from('abc'));
  assert.equal(r.contents().toString(), 'abc');
  r.write(Buffer.from('defgh'));
  assert.equal(r.contents().toString(), 'abcdefgh');
  r.write(Buffer.from('ij'));
  assert.equal(r.contents().toString(), 'cdefghij');
  r.write(Buffer.from('klmnopq'));
  assert.equal(r.contents().toString(), 'jklmnopq');
  r.write(Buffer.from('0123456789'));
  assert.equal(r.contents().toString(), '23456789');
  assert.equal(r.length, 8);
  assert.equal(r.totalWritten, 27);
  r.write(Buffer.alloc(0));
  assert.equal(r.contents().toString(), '23456789');
});

test('ConsoleRing rejects a non-positive capacity', () => {
  assert.throws(() => new ConsoleRing(0), RangeError);
});

test('ConsoleRing grows as output arrives and still wraps at its capacity', () => {
  const r = new ConsoleRing(10_000);
  let all = '';
  for (let i = 0; i < 3000; i++) {
    const line = `${i},`;
    r.write(Buffer.from(line));
    all += line;
  }
  assert.equal(r.contents().toString(), all.slice(-10_000));
  assert.equal(r.length, 10_000);
});
