import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { CgroupTree, findCpuCgroups, formatCgroupList, SCHED_CGROUP_MAP } from './cgroups.js';

const V1 = [
  '25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu',
  '31 25 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '32 25 0:28 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
  '40 25 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

test('findCpuCgroups(): cgroup v2 when its root offers cpu and cpuset, else the v1 hierarchies, else none', () => {
  assert.deepEqual(findCpuCgroups(V1, () => 'memory pids'), { version: 1, cpu: '/sys/fs/cgroup/cpu', cpuset: '/sys/fs/cgroup/cpuset' });
  assert.deepEqual(findCpuCgroups(V1, () => 'cpuset cpu io memory pids\n'), { version: 2, cpu: '/sys/fs/cgroup/unified', cpuset: '/sys/fs/cgroup/unified' });
  const combined = '30 25 0:26 / /sys/fs/cgroup/cpu\\054cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n32 25 0:28 / /sys/fs/cgroup/my\\040cpuset rw - cgroup cgroup rw,cpuset';
  assert.deepEqual(findCpuCgroups(combined, () => ''), { version: 1, cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuset: '/sys/fs/cgroup/my cpuset' });
  assert.equal(findCpuCgroups(V1.split('\n').filter((l) => !l.includes('cpuset')).join('\n'), () => 'memory'), undefined);
  assert.equal(findCpuCgroups('40 25 0:35 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', () => {
    throw new Error('EACCES');
  }), undefined);
});

test('SCHED_CGROUP_MAP: weight and cap, v1 and v2', () => {
  assert.deepEqual(SCHED_CGROUP_MAP.share(1, { weight: 256, cap: 0 }), [['cpu.shares', '1024'], ['cpu.cfs_quota_us', '-1'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '-1']]);
  assert.deepEqual(SCHED_CGROUP_MAP.share(1, { weight: 65535, cap: 150 }), [['cpu.shares', '262140'], ['cpu.cfs_quota_us', '-1'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '150000']]);
  assert.deepEqual(SCHED_CGROUP_MAP.share(2, { weight: 256, cap: 0 }), [['cpu.weight', '100'], ['cpu.max', 'max 100000']]);
  assert.deepEqual(SCHED_CGROUP_MAP.share(2, { weight: 1, cap: 50 }), [['cpu.weight', '1'], ['cpu.max', '50000 100000']]);
  assert.deepEqual(SCHED_CGROUP_MAP.share(2, { weight: 65535, cap: 0 }), [['cpu.weight', '10000'], ['cpu.max', 'max 100000']]);
  assert.deepEqual(SCHED_CGROUP_MAP.share(2, { weight: 512, cap: 0 })[0], ['cpu.weight', '200']);
});

test('SCHED_CGROUP_MAP: an RTDS reservation is a quota without extratime; periods under 1 ms scale up, over 1 s are cut', () => {
  const v2 = (period: number, budget: number, extratime = false): string => SCHED_CGROUP_MAP.reservation(2, { period, budget, extratime })[0]?.[1] ?? '';
  assert.equal(v2(10_000, 4_000), '4000 10000');
  assert.equal(v2(10_000, 4_000, true), 'max 10000');
  assert.equal(v2(300, 150), '1000 2000');
  assert.equal(v2(20_000, 100), '1000 200000');
  assert.equal(v2(2_000_000, 1_000_000), '500000 1000000');
  assert.equal(v2(1, 1), '1000 1000');
  assert.equal(SCHED_CGROUP_MAP.reservation(2, undefined)[0]?.[1], 'max 100000');
  assert.deepEqual(SCHED_CGROUP_MAP.reservation(1, { period: 20_000, budget: 5_000, extratime: false }),
    [['cpu.cfs_quota_us', '-1'], ['cpu.cfs_period_us', '20000'], ['cpu.cfs_quota_us', '5000']]);
  assert.deepEqual(SCHED_CGROUP_MAP.reservation(1, undefined), [['cpu.cfs_quota_us', '-1'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '-1']]);
});

test('formatCgroupList() writes the kernel\'s list syntax', () => {
  assert.equal(formatCgroupList([3, 0, 1, 2, 6, 8, 9]), '0-3,6,8-9');
  assert.equal(formatCgroupList([]), '');
  assert.equal(formatCgroupList([5, 5]), '5');
});

/** A directory standing for a cgroup mount (its files are plain files). */
function fakeMount(): string {
  return mkdtempSync(join(tmpdir(), 'dom0-cgroup-'));
}

test('CgroupTree on cgroup v2: controllers enabled down the tree, threaded vCPU groups, cpu.max, cgroup.threads', () => {
  const root = fakeMount();
  try {
    const t = new CgroupTree({ version: 2, cpu: root, cpuset: root }, 'dom0-test');
    t.open({ cpus: [0, 1, 2, 3], mems: [0] });
    t.make('pool1', { cpuset: { cpus: [2, 3], mems: [0] } });
    t.make('pool1/dom5');
    t.make('pool1/dom5/vcpu0', { threaded: true });
    const read = (p: string): string => readFileSync(join(root, p), 'utf8');
    assert.equal(read('cgroup.subtree_control'), '+cpu +cpuset');
    assert.equal(read('dom0-test/cgroup.subtree_control'), '+cpu +cpuset');
    assert.equal(read('dom0-test/pool1/dom5/cgroup.subtree_control'), '+cpu +cpuset');
    assert.equal(read('dom0-test/pool1/cpuset.cpus'), '2-3');
    assert.equal(read('dom0-test/pool1/dom5/vcpu0/cgroup.type'), 'threaded');
    assert.throws(() => read('dom0-test/pool1/dom5/cpuset.cpus'), /ENOENT/, 'a v2 group under a pool inherits its cpuset');
    t.setCpu('pool1/dom5/vcpu0', SCHED_CGROUP_MAP.reservation(2, { period: 10_000, budget: 4_000, extratime: false }));
    assert.equal(read('dom0-test/pool1/dom5/vcpu0/cpu.max'), '4000 10000');
    t.moveProcess('pool1/dom5', 4242);
    t.moveThread('pool1/dom5/vcpu0', 4243);
    assert.equal(read('dom0-test/pool1/dom5/cgroup.procs'), '4242');
    assert.deepEqual(t.threads('pool1/dom5/vcpu0'), [4243]);
    t.setCpuset('pool1', { cpus: [1, 2, 3], mems: [0] });
    assert.equal(read('dom0-test/pool1/cpuset.cpus'), '1-3');
    assert.deepEqual(t.children(''), ['pool1']);
    assert.deepEqual(t.children('nosuch'), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CgroupTree on cgroup v1: each group gets its parent\'s cpuset, and a pool\'s change reaches every group under it', () => {
  const root = fakeMount();
  try {
    mkdirSync(join(root, 'cpu'));
    mkdirSync(join(root, 'cpuset'));
    const t = new CgroupTree({ version: 1, cpu: join(root, 'cpu'), cpuset: join(root, 'cpuset') }, 'dom0-test');
    t.open({ cpus: [0, 1, 2, 3], mems: [0, 1] });
    t.make('pool0', { cpuset: { cpus: [0, 1], mems: [0] } });
    t.make('pool0/dom1');
    t.make('pool0/dom1/vcpu0', { threaded: true });
    assert.deepEqual(t.cpuset('pool0/dom1/vcpu0'), { cpus: [0, 1], mems: [0] });
    t.setCpuset('pool0', { cpus: [1, 2], mems: [0] });
    for (const g of ['pool0', 'pool0/dom1', 'pool0/dom1/vcpu0']) assert.deepEqual(t.cpuset(g), { cpus: [1, 2], mems: [0] }, g);
    t.moveThread('pool0/dom1/vcpu0', 77);
    assert.equal(readFileSync(join(root, 'cpu', 'dom0-test', 'pool0', 'dom1', 'vcpu0', 'tasks'), 'utf8'), '77');
    assert.deepEqual(t.threads('pool0/dom1/vcpu0'), [77]);
    t.setCpu('pool0/dom1', SCHED_CGROUP_MAP.share(1, { weight: 512, cap: 25 }));
    assert.equal(t.read('pool0/dom1', 'cpu', 'cpu.shares'), '2048');
    assert.equal(t.read('pool0/dom1', 'cpu', 'cpu.cfs_quota_us'), '25000');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CgroupTree: a write the kernel refuses is a CGROUP error naming the file, the value and the errno', () => {
  const root = fakeMount();
  try {
    const t = new CgroupTree({ version: 2, cpu: root, cpuset: root }, 'dom0-test');
    t.open({ cpus: [0], mems: [0] });
    mkdirSync(join(root, 'dom0-test', 'pool0', 'cpu.weight'), { recursive: true });
    assert.throws(() => t.setCpu('pool0', [['cpu.weight', '100']]), (e: unknown) => isToolstackError(e, 'CGROUP')
      && /Cannot write "100" to .*pool0\/cpu\.weight: EISDIR/.test(e.message) && e.hint !== undefined);
    writeFileSync(join(root, 'plain'), '');
    const t2 = new CgroupTree({ version: 2, cpu: join(root, 'plain'), cpuset: join(root, 'plain') }, 'x');
    assert.throws(() => t2.open({ cpus: [0], mems: [0] }), (e: unknown) => isToolstackError(e, 'CGROUP'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
