import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcStatCpuNs } from './process.js';
import { parseBusyCpuNs, parseMemTotalKiB, parsePerCpuBusyNs, readHostStats } from './stats.js';

test('host parsers read /proc formats', () => {
  assert.equal(parseMemTotalKiB('MemTotal:       24684360 kB\nMemFree: 1 kB\n'), 24684360);
  assert.equal(parseBusyCpuNs('cpu  100 5 50 9999 7 1 2 3 0 0\ncpu0 1 1 1 1\n'), (100 + 5 + 50 + 1 + 2 + 3) * 1e7);
  assert.equal(parseProcStatCpuNs('42 (qemu (x) y) S 1 42 42 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 3'), 300 * 1e7);
  assert.deepEqual([...parsePerCpuBusyNs('cpu  9 9 9 9\ncpu0 1 0 1 50 9 0 0 0\ncpu3 2 1 0 7 0 1 1 1\nintr 5\n')], [[0, 2e7], [3, 6e7]]);
});

test('readHostStats() reads this host', () => {
  const h = readHostStats();
  assert.ok(h.memKiB > 0 && h.cpus > 0 && h.cpuTimeNs > 0 && h.uptimeSec > 0);
});
