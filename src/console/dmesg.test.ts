import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dmesg } from './dmesg.js';

test('dmesg ring: (XEN) lines, guests\' debug bytes as (dN) lines, control characters dropped, -c clears', () => {
  const d = Dmesg.open(undefined);
  d.host('dom0d starting');
  const g = d.guest(3);
  g(Buffer.from('he'));
  g(Buffer.from('llo\x07\tworld\r\nsecond'));
  assert.equal(d.read(), '(XEN) dom0d starting\n(d3) hello\tworld\n');
  g(Buffer.from('\n'));
  d.host('two\nlines');
  assert.equal(d.read(true), '(XEN) dom0d starting\n(d3) hello\tworld\n(d3) second\n(XEN) two\n(XEN) lines\n');
  assert.equal(d.read(), '');
  // C1 controls too: a terminal takes U+009B as CSI (here: red text), U+009D as OSC; Latin-1 letters stay.
  g(Buffer.from([0x9b, 0x33, 0x31, 0x6d, 0x9d, 0x30, 0x3b, 0x78, 0x07, 0xe9, 0x0a]));
  assert.equal(d.read(), '(d3) 31m0;x\u00e9\n');
  // dom0d's own lines carry config values and file names: their controls are shown escaped.
  d.host('cannot open /tmp/a\x1b]0;x\x07\u009b2K\u202eb\r');
  assert.equal(d.read(true).split('\n').at(-2), '(XEN) cannot open /tmp/a\\x1b]0;x\\x07\\x9b2K\\u202eb\\r');
});

test('dmesg ring: a line without a newline is cut at 256 characters; the oldest lines go beyond the capacity', () => {
  const big = Dmesg.open(undefined);
  big.guest(1)(Buffer.from('x'.repeat(300)));
  assert.equal(big.read(), `(d1) ${'x'.repeat(256)}\n`);
  const d = Dmesg.open(undefined, { capacity: 64 });
  for (let i = 0; i < 10; i++) d.host(`line ${i}`);
  assert.equal(d.read(), '(XEN) line 6\n(XEN) line 7\n(XEN) line 8\n(XEN) line 9\n');
});

test('dmesg ring: a guest that writes its debug port without end cannot push dom0d\'s lines out; the order of lines stays', () => {
  const d = Dmesg.open(undefined, { capacity: 4096 });
  d.host('dom0d starting');
  const g = d.guest(7);
  g(Buffer.from('booting\n'));
  d.host('domain 7 created');
  // Before: 10,000 lines later the ring held the guest's alone.
  for (let i = 0; i < 10_000; i++) g(Buffer.from(`flood ${i}\n`));
  const text = d.read();
  assert.ok(Buffer.byteLength(text) <= 4096);
  assert.match(text, /^\(XEN\) dom0d starting\n\(XEN\) domain 7 created\n\(d7\) flood \d+\n/);
  assert.match(text, /\(d7\) flood 9999\n$/);
  // With no guest lines, dom0d's take the whole ring.
  const h = Dmesg.open(undefined, { capacity: 4096 });
  for (let i = 0; i < 1000; i++) h.host(`line ${i}`);
  assert.ok(Buffer.byteLength(h.read()) > 4000);
});

test('dmesg ring: kept in its file, read back by the next dom0d; an unreadable file is reported, not fatal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmesg-'));
  try {
    const file = join(dir, 'dmesg');
    const a = Dmesg.open(file);
    a.host('first');
    a.guest(2)(Buffer.from('from the guest\n'));
    await a.flush();
    assert.equal(readFileSync(file, 'utf8'), '(XEN) first\n(d2) from the guest\n');
    const b = Dmesg.open(file);
    b.host('second');
    assert.equal(b.read(), '(XEN) first\n(d2) from the guest\n(XEN) second\n');
    const errors: unknown[] = [];
    const c = Dmesg.open(dir, { onError: (e) => errors.push(e) });
    assert.equal(c.read(), '');
    assert.equal(errors.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
