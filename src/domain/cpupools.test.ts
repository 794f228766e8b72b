import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { CpuPools, findPool, freeCpus, nodesOf, planAddCpus, planCreate, planDestroy, planNumaSplit, planRemoveCpus, planRename } from './cpupools.js';
import type { CpuPool, PoolHost } from './cpupools.js';
import { DEFAULT_POOL_PARAMS } from './sched.js';

/** Four CPUs on two NUMA nodes. */
const HOST: PoolHost = { cpus: [{ cpu: 0, node: 0 }, { cpu: 1, node: 0 }, { cpu: 2, node: 1 }, { cpu: 3, node: 1 }], scheduler: 'credit2' };
const pool0 = (cpus: number[]): CpuPool => ({ poolid: 0, name: 'Pool-0', sched: 'credit2', cpus, uuid: 'u0', params: DEFAULT_POOL_PARAMS });
const lines = (f: () => unknown): readonly string[] | undefined => {
  try {
    f();
  } catch (e: unknown) {
    if (isToolstackError(e, 'CPUPOOL')) return e.lines;
    throw e;
  }
  assert.fail('no CPUPOOL error');
};

test('findPool(): all digits is a poolid, else the first pool of that name', () => {
  const pools = planCreate([pool0([0, 1])], HOST, { name: '7', sched: 'rtds', cpus: [] });
  assert.equal(findPool(pools, '1')?.name, '7');
  assert.equal(findPool(pools, '7'), undefined);
  assert.equal(findPool(pools, 'Pool-0')?.poolid, 0);
  assert.equal(findPool(pools, 'pool-0'), undefined);
});

test('planCreate(): free CPUs only, the next poolid, a known scheduler, two pools per CPU at most', () => {
  const pools = planCreate([pool0([0, 1])], HOST, { name: 'p', sched: 'rtds', cpus: [3, 2, 3] });
  assert.deepEqual(pools[1], { ...pools[1], poolid: 1, name: 'p', sched: 'rtds', cpus: [2, 3] });
  assert.deepEqual(freeCpus(pools, HOST), []);
  assert.deepEqual(nodesOf([1, 2, 3], HOST), [0, 1]);
  assert.deepEqual(lines(() => planCreate([pool0([0, 1])], HOST, { name: 'q', sched: 'credit', cpus: [1] })),
    ['libxl: error: libxl_cpupool.c:167:libxl_cpupool_create: Error moving cpu to cpupool']);
  assert.deepEqual(lines(() => planCreate([pool0([0])], HOST, { name: 'q', sched: 'arinc653', cpus: [] })),
    ['libxl: error: libxl_cpupool.c:157:libxl_cpupool_create: Could not create cpupool']);
  let many: CpuPool[] = [pool0([0])];
  for (let i = 1; i < 8; i++) many = planCreate(many, HOST, { name: `p${i}`, sched: 'null', cpus: [] });
  assert.deepEqual(lines(() => planCreate(many, HOST, { name: 'p8', sched: 'credit', cpus: [] })),
    ['libxl: error: libxl_cpupool.c:157:libxl_cpupool_create: Could not create cpupool']);
});

test('planDestroy() refuses a pool with domains (no libxl line: xl says it); planRename() takes any name', () => {
  const pools = planCreate([pool0([0])], HOST, { name: 'p', sched: 'rtds', cpus: [1] });
  assert.deepEqual(lines(() => planDestroy(pools, pools[1] as CpuPool, 1)), []);
  assert.deepEqual(planDestroy(pools, pools[1] as CpuPool, 0).map((p) => p.poolid), [0]);
  assert.deepEqual(planRename(pools, pools[0] as CpuPool, 'p').map((p) => p.name), ['p', 'p']);
});

test('planAddCpus() / planRemoveCpus(): each CPU on its own, with Xen\'s errno', () => {
  const pools = planCreate([pool0([0, 1])], HOST, { name: 'p', sched: 'rtds', cpus: [] });
  const p = pools[1] as CpuPool;
  const add = planAddCpus(pools, HOST, p, [1, 2, 5]);
  assert.deepEqual(add.pools[1]?.cpus, [2]);
  assert.deepEqual(add.errors, [
    'libxl: error: libxl_cpupool.c:302:libxl_cpupool_cpuadd: Error moving cpu 1 to cpupool: No such device',
    'libxl: error: libxl_cpupool.c:302:libxl_cpupool_cpuadd: Error moving cpu 5 to cpupool: Invalid argument',
  ]);
  const rm = planRemoveCpus(add.pools, HOST, add.pools[0] as CpuPool, [0, 1, 3, 7], 1);
  assert.deepEqual(rm.pools[0]?.cpus, [0]);
  assert.deepEqual(rm.errors, [
    'libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 0 from cpupool: Invalid argument',
    'libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 3 from cpupool: Cannot assign requested address',
    'libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 7 from cpupool: Invalid argument',
  ]);
  const withDomain = planRemoveCpus(add.pools, HOST, add.pools[1], [2], 1);
  assert.deepEqual(withDomain.errors, ['libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 2 from cpupool: Device or resource busy']);
  assert.deepEqual(planRemoveCpus(add.pools, HOST, add.pools[1], [2], 0).pools[1]?.cpus, []);
});

test('planNumaSplit(): a pool per node, Pool-0 renamed after the first; only from Pool-0 alone', () => {
  const split = planNumaSplit([pool0([0, 2])], HOST);
  assert.deepEqual(split.map((p) => [p.poolid, p.name, p.sched, p.cpus]), [[0, 'Pool-node0', 'credit2', [0, 1]], [1, 'Pool-node1', 'credit2', [2, 3]]]);
  assert.deepEqual(lines(() => planNumaSplit(split, HOST)), ['splitting not possible, already cpupools in use']);
  const oneNode: PoolHost = { cpus: [{ cpu: 0, node: 0 }, { cpu: 1, node: 0 }], scheduler: 'credit' };
  assert.deepEqual(planNumaSplit([pool0([0])], oneNode).map((p) => [p.name, p.cpus]), [['Pool-node0', [0, 1]]]);
});

test('CpuPools: Pool-0 of every CPU at first; the table persists; CPUs gone offline leave it; a bad file starts over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-pools-'));
  try {
    const file = join(dir, 'cpupools.json');
    const log: string[] = [];
    const a = await CpuPools.open(HOST, file, (l) => log.push(l));
    assert.deepEqual(a.list().map((p) => [p.name, p.sched, p.cpus]), [['Pool-0', 'credit2', [0, 1, 2, 3]]]);
    const removed = planRemoveCpus(a.list(), HOST, a.resolve('Pool-0'), [2, 3], 1);
    await a.exclusive(() => a.replace(planCreate(removed.pools, HOST, { name: 'p', sched: 'rtds', cpus: [2, 3] })));
    const b = await CpuPools.open({ ...HOST, cpus: HOST.cpus.slice(0, 3) }, file, (l) => log.push(l));
    assert.deepEqual(b.list().map((p) => [p.name, p.cpus]), [['Pool-0', [0, 1]], ['p', [2]]]);
    assert.deepEqual(log, ['CPUs 3 are not online: they leave their pools']);
    assert.throws(() => b.resolve('nope'), (e: unknown) => isToolstackError(e, 'CPUPOOL') && e.lines?.[0] === "unknown cpupool 'nope'");
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).pools.length, 2);
    writeFileSync(file, '{"version": 1, "pools": [{"poolid": 3}]}');
    const c = await CpuPools.open(HOST, file, (l) => log.push(l));
    assert.deepEqual(c.list().map((p) => p.name), ['Pool-0']);
    assert.match(log[1] ?? '', /is unreadable \(bad pool .*\): kept as .*cpupools\.json\.corrupt-\d+; starting from Pool-0 with every CPU$/);
    // What it held is kept aside, not written over.
    const aside = readdirSync(dir).find((f) => f.startsWith('cpupools.json.corrupt-'));
    assert.equal(readFileSync(join(dir, aside ?? '?'), 'utf8'), '{"version": 1, "pools": [{"poolid": 3}]}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pool name with a control, text-direction or invisible character, empty or over 255 bytes is refused, at create and rename', () => {
  const pools = [pool0([0, 1])];
  for (const name of ['p\x1b[1A\x1b[2K', 'x\n(fake row)', 'a\u202eb', '', 'p'.repeat(256)]) {
    assert.throws(() => planCreate(pools, HOST, { name, sched: 'credit2', cpus: [] }), (e: unknown) => isToolstackError(e, 'CFG_VALUE'), JSON.stringify(name));
    assert.throws(() => planRename(pools, pools[0] as CpuPool, name), (e: unknown) => isToolstackError(e, 'CFG_VALUE'), JSON.stringify(name));
  }
  assert.equal(planRename(pools, pools[0] as CpuPool, 'Pool-ü')[0]?.name, 'Pool-ü');
});
