import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMemSizeKiB } from './mem-like.js';

test('parseMemSizeKiB() reads sizes as Xen\'s parse_mem_size_kb: MiB by default, one unit letter of any case', () => {
  const cases: Array<[string, number | undefined]> = [
    ['512', 512 * 1024], ['512m', 512 * 1024], ['512M', 512 * 1024], ['2g', 2 << 20], ['1T', 1 << 30],
    ['262144k', 262144], ['1048576b', 1024], ['1048576B', 1024], ['  64', 64 * 1024],
  ];
  for (const [text, kib] of cases) assert.equal(parseMemSizeKiB(text), kib, text);
});

test('parseMemSizeKiB() refuses what is not one size, and sizes not above 0 KiB or beyond a safe integer', () => {
  for (const text of ['', 'x', '64MB', '64 m', '1.5g', '0', '-64', '1000b', '0x40', `${2 ** 53}t`, '64m ']) {
    assert.equal(parseMemSizeKiB(text), undefined, JSON.stringify(text));
  }
});
