import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainConfig } from '../config/index.js';
import { vcpuRows, withVcpuAffinity } from './vcpus.js';

const config: DomainConfig = { b_info: { max_vcpus: 3, avail_vcpus: [0, 1], vcpu_hard_affinity: [[1], [0]], vcpu_soft_affinity: [[0], [0], [0]] } };

test('vcpuRows(): one row per slot; plugged ones from the machine, running/blocked only while the domain runs; offline ones with their stored maps', () => {
  const machine = [{ vcpu: 0, cpu: 1, runnable: true, timeNs: 5, hard: [1] }, { vcpu: 1, cpu: 0, runnable: false, timeNs: 7, hard: [0] }];
  assert.deepEqual(vcpuRows(config, 'running', machine), [
    { vcpu: 0, online: true, cpu: 1, running: true, blocked: false, timeNs: 5, hard: [1], soft: [0] },
    { vcpu: 1, online: true, cpu: 0, running: false, blocked: true, timeNs: 7, hard: [0], soft: [0] },
    { vcpu: 2, online: false, cpu: null, running: false, blocked: false, timeNs: 0, hard: null, soft: [0] },
  ]);
  assert.deepEqual(vcpuRows(config, 'paused', machine).map((r) => [r.running, r.blocked]), [[false, false], [false, false], [false, false]]);
  // No machine (the test API's records): every slot offline.
  assert.deepEqual(vcpuRows({}, 'running', []).map((r) => [r.vcpu, r.online, r.hard, r.soft]), [[0, false, null, null]]);
});

test('withVcpuAffinity(): one map per slot for a list that changes; unpinned slots get all; the other list is kept', () => {
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  const one = withVcpuAffinity(config, { vcpu: 2, hard: [1], all });
  assert.deepEqual(one.b_info?.vcpu_hard_affinity, [[1], [0], [1]]);
  assert.deepEqual(one.b_info?.vcpu_soft_affinity, [[0], [0], [0]]);
  const every = withVcpuAffinity({ b_info: { max_vcpus: 2 } }, { vcpu: 'all', soft: [3], all });
  assert.deepEqual([every.b_info?.vcpu_hard_affinity, every.b_info?.vcpu_soft_affinity], [undefined, [[3], [3]]]);
  assert.deepEqual(withVcpuAffinity({ b_info: { max_vcpus: 2 } }, { vcpu: 0, hard: [1], all }).b_info?.vcpu_hard_affinity, [[1], all]);
});
