import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuBitmapBits, formatCpuMap, parseCpuList } from './cpulist.js';

test('parseCpuList() applies items left to right', () => {
  assert.deepEqual(parseCpuList('0-3,5,^1', 8), [0, 2, 3, 5]);
  assert.deepEqual(parseCpuList('^1,0-3', 8), [0, 1, 2, 3]);
  assert.deepEqual(parseCpuList('all,^7', 8), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(parseCpuList('^0', 8), []);
  assert.deepEqual(parseCpuList(',,2,', 8), [2]);
});

test('parseCpuList() "all" fills the whole byte-rounded bitmap; CPUs past it are dropped', () => {
  assert.equal(cpuBitmapBits(6), 8);
  assert.deepEqual(parseCpuList('all', 6), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(parseCpuList('6-100', 6), [6, 7]);
});

test('parseCpuList() nodes use the host topology', () => {
  const cpuNodes = [0, 0, 1, 1, 2, 2];
  assert.deepEqual(parseCpuList('nodes:1-2,^node:2,5', 6, { cpuNodes }), [2, 3, 5]);
  assert.deepEqual(parseCpuList('nodes:all', 6, { cpuNodes }).length, 8);
});

test('parseCpuList() errors are xl\'s lines', () => {
  assert.throws(() => parseCpuList('3-1', 8), { code: 'SPEC_CPUS', lines: ['Invalid pcpu range: 3-1.'] });
  assert.throws(() => parseCpuList('nodes:^1', 8), { lines: ['Invalid pcpu range: ^1.'] });
  assert.throws(() => parseCpuList('^nodes:all', 8), { lines: ['Can\'t combine "^" and "all".'] });
  assert.throws(() => parseCpuList('2x', 8), { lines: ['Invalid pcpu range: 2x.'] });
});

test('formatCpuMap() prints like xl\'s print_bitmap', () => {
  assert.equal(formatCpuMap([0, 1, 2, 3], 4), 'all');
  assert.equal(formatCpuMap([], 4), 'none');
  assert.equal(formatCpuMap([0, 2, 3, 5], 8), '0,2-3,5');
  assert.equal(formatCpuMap([1, 2, 3], 4), '1-3');
});

test('vcpu-pin maps: parsed over the host and printed as `xl -N vcpu-pin` does (check-xl-vcpupin-parse\'s cases)', () => {
  const show = (text: string, nrCpus: number, cpuNodes?: readonly number[]): string =>
    formatCpuMap(parseCpuList(text, nrCpus, cpuNodes === undefined ? {} : { cpuNodes }), nrCpus);
  assert.equal(show('all', 16), 'all');
  assert.equal(show('all,^12', 16), '0-11,13-15');
  assert.equal(show('^0', 16), 'none');
  assert.equal(show('0-3,^1,7', 16), '0,2-3,7');
  assert.equal(show('nodes:1', 8, [0, 0, 0, 0, 1, 1, 1, 1]), '4-7');
  assert.equal(show('nodes:0-1,^node:0', 8, [0, 0, 0, 0, 1, 1, 1, 1]), '4-7');
  // a 6-CPU host: the bitmap has 8 bits; those past the host are not printed
  assert.equal(show('5-7', 6), '5');
  assert.throws(() => parseCpuList('0-', 8), { lines: ['Invalid pcpu range: 0-.'] });
  assert.throws(() => parseCpuList('node:x', 8), { lines: ['Invalid pcpu range: x.'] });
});
