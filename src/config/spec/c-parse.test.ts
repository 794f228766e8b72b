import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atoi, parseUlong, splitPairTrimmed, splitStringList, strtokItems, strtoul } from './c-parse.js';

test('strtoul() follows C: blanks, sign, base-0 prefixes, stop at the first bad digit', () => {
  assert.deepEqual(strtoul('  42abc', 10), { value: 42n, end: 4, overflow: false });
  assert.deepEqual(strtoul('0x1F', 0), { value: 31n, end: 4, overflow: false });
  assert.deepEqual(strtoul('010', 0), { value: 8n, end: 3, overflow: false });
  assert.deepEqual(strtoul('0x', 16), { value: 0n, end: 1, overflow: false });
  assert.deepEqual(strtoul('-1', 10), { value: (1n << 64n) - 1n, end: 2, overflow: false });
  assert.deepEqual(strtoul('zz', 10), { value: 0n, end: 0, overflow: false });
  assert.equal(strtoul('99999999999999999999999', 10).overflow, true);
});

test('atoi() and parseUlong() behave as libc and xl', () => {
  assert.equal(atoi(' -12x'), -12);
  assert.equal(atoi('x'), 0);
  assert.equal(parseUlong('12junk', 'SPEC_VIF', 'h'), 12n);
  assert.throws(() => parseUlong('junk', 'SPEC_VIF', 'h'), { lines: ['xl: failed to convert "junk" to number'] });
});

test('strtok-style splitting drops empty items and leading spaces only', () => {
  assert.deepEqual(strtokItems(',a,, b ,'), ['a', 'b ']);
  assert.deepEqual(splitStringList(' a ,,b', ','), [' a ', 'b']);
  assert.deepEqual(splitPairTrimmed(' k = v =w', '='), { key: 'k', value: 'v' });
  assert.equal(splitPairTrimmed('k=', '='), undefined);
});
