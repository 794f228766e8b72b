import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meminfoKiB, parseCpuKhz, parseCpuList, readHostFacts } from './facts.js';

test('sysfs CPU lists, cpuinfo MHz and meminfo lines (host and node forms)', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList('0\n'), [0]);
  assert.deepEqual(parseCpuList(''), []);
  assert.equal(parseCpuKhz('processor\t: 0\ncpu MHz\t\t: 2445.426\n'), 2445426);
  assert.equal(parseCpuKhz('processor\t: 0\n'), 0);
  assert.equal(meminfoKiB('MemTotal:       24684360 kB\nMemAvailable:   123 kB\n', 'MemAvailable'), 123);
  assert.equal(meminfoKiB('Node 0 MemTotal:        5859144 kB\nNode 0 MemFree: 5 kB\n', 'MemFree'), 5);
  assert.equal(meminfoKiB('MemTotal: 1 kB\n', 'MemFree'), 0);
});

test('the real host: every online CPU once, in a node, memory and eight feature words', () => {
  const f = readHostFacts();
  assert.ok(f.cpus.length >= 1);
  assert.deepEqual(f.cpus.map((c) => c.cpu), [...new Set(f.cpus.map((c) => c.cpu))].sort((a, b) => a - b));
  assert.ok(f.cpus.every((c) => f.nodes.some((n) => n.node === c.node)));
  assert.ok(f.totalKiB > 0 && f.availableKiB > 0 && f.availableKiB <= f.totalKiB);
  assert.equal(f.hwCaps.length, 8);
  assert.ok(f.nodes.every((n) => n.distances.length === f.nodes.length));
});
