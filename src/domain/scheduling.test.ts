// Scheduling through the domain manager: pools, parameters and where they land, on a directory
// standing for a cgroup v2 mount (the real cgroups are test/integration/sched-cpupool.test.ts's).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { DomainDriver, MachineThreads } from './driver.js';
import { ProcessOnlyDriver } from './driver.js';
import type { PoolHost } from './cpupools.js';
import { DomainManager } from './manager.js';
import type { DomainRecord, NewDomain } from './record.js';
import { SchedCgroups } from './sched-cgroups.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-sched-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const HOST: PoolHost = { cpus: [{ cpu: 0, node: 0 }, { cpu: 1, node: 0 }, { cpu: 2, node: 1 }, { cpu: 3, node: 1 }], scheduler: 'credit2' };

/** A machine of fake threads: process 1000+domid, vCPU n's thread 2000+10×domid+n. */
class ThreadsDriver extends ProcessOnlyDriver implements DomainDriver {
  override start(r: DomainRecord): Promise<{ qemuPid: null; qmpSocket: string }> {
    return Promise.resolve({ qemuPid: null, qmpSocket: `/q/${r.domid}` });
  }
  override unpause(): Promise<void> {
    return Promise.resolve();
  }
  machineThreads(r: DomainRecord): Promise<MachineThreads> {
    return Promise.resolve({ pid: 1000 + r.domid, vcpus: r.sched.vcpus.map((_, vcpu) => ({ vcpu, tid: 2000 + 10 * r.domid + vcpu })) });
  }
}

/** A manager on its own state directory and fake cgroup mount; `file(p)` reads a cgroup file of dom0's top group. */
async function open(dir = join(root, `h${++n}`), cgroups = true): Promise<{ m: DomainManager; dir: string; file: (p: string) => string; has: (p: string) => boolean }> {
  const mount = join(dir, 'cgroup');
  mkdirSync(mount, { recursive: true });
  const sched = {
    host: HOST, poolsFile: join(dir, 'cpupools.json'),
    cgroups: cgroups ? SchedCgroups.open(join(dir, 'run'), { cpus: [0, 1, 2, 3], mems: [0, 1] }, { version: 2, cpu: mount, cpuset: mount })
      : new ToolstackError('CGROUP', 'This host has no cpu and cpuset cgroup controllers'),
  };
  const m = await DomainManager.open({ domainsDir: join(dir, 'domains'), driver: new ThreadsDriver(), sched });
  const top = cgroups ? (sched.cgroups as SchedCgroups).tree.dir('', 'cpu') : '';
  return { m, dir, file: (p) => readFileSync(join(top, p), 'utf8'), has: (p) => existsSync(join(top, p)) };
}

const dom = (name: string, extra: { pool?: string; weight?: number; vcpus?: number } = {}): NewDomain => ({
  config: {
    c_info: { name, ...(extra.pool === undefined ? {} : { pool_name: extra.pool }) },
    b_info: { max_vcpus: extra.vcpus ?? 1, avail_vcpus: Array.from({ length: extra.vcpus ?? 1 }, (_, i) => i), ...(extra.weight === undefined ? {} : { sched_params: { weight: extra.weight } }) },
  },
});

function fails(code: 'CPUPOOL' | 'SCHED' | 'CGROUP', lines?: readonly string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isToolstackError(e, code), String(e));
    if (lines !== undefined) assert.deepEqual(e.lines, lines);
    return true;
  };
}

test('a new domain runs in its pool\'s groups: the process in dom<N>, each vCPU thread in vcpu<n>, its weight', async () => {
  const { m, file } = await open();
  const rec = await m.create(dom('a', { weight: 512, vcpus: 2 }));
  assert.deepEqual(rec.sched, { pool: 0, weight: 512, cap: 0, vcpus: [{ period: 10000, budget: 4000, extratime: true }, { period: 10000, budget: 4000, extratime: true }] });
  assert.equal(file('pool0/cpuset.cpus'), '0-3');
  assert.equal(file('pool0/dom1/cgroup.procs'), '1001');
  assert.equal(file('pool0/dom1/vcpu1/cgroup.threads'), '2011');
  assert.equal(file('pool0/dom1/cpu.weight'), '200');
  assert.equal(file('pool0/dom1/vcpu0/cpu.max'), 'max 100000');
  assert.equal(m.sched.domainsIn(0), 2, 'Domain-0 counts in Pool-0');
});

test('create(): libxl\'s lines for an unknown pool, an empty pool, a weight out of range; nothing is left', async () => {
  const { m } = await open();
  await assert.rejects(m.create(dom('a', { pool: 'nope' })), fails('CPUPOOL', ['libxl: error: libxl_create.c:1132:libxl__domain_config_setdefault: Illegal pool specified: nope']));
  await m.sched.createPool({ name: 'empty', sched: 'credit', cpus: [] });
  await assert.rejects(m.create(dom('a', { pool: 'empty' })), fails('CPUPOOL', [
    'libxl: error: libxl_create.c:709:libxl__domain_make: domain creation fail: No such device',
    'libxl: error: libxl_create.c:1294:initiate_domain_create: cannot make domain: -3',
  ]));
  await assert.rejects(m.create(dom('a', { weight: 70000 })), fails('SCHED', [
    'libxl: error: libxl_sched.c:445:sched_credit2_domain_set: Domain 1:Cpu weight out of range, valid values are within range from 1 to 65535',
    'libxl: error: libxl_create.c:1638:domcreate_rebuild_done: Domain 1:cannot (re-)build domain: -6',
  ]));
  assert.equal(m.registry.size, 0);
});

test('pools: create, a domain placed in one by pool=, migrate (defaults of the new scheduler), rtds per vCPU, persistence', async () => {
  const { m, dir, file, has } = await open();
  await assert.rejects(m.sched.createPool({ name: 'rt', sched: 'rtds', cpus: [3] }), fails('CPUPOOL'));
  const removed = await m.sched.removeCpus('Pool-0', [2, 3]);
  assert.deepEqual(removed.errors, []);
  assert.equal(file('pool0/cpuset.cpus'), '0-1');
  const rt = await m.sched.createPool({ name: 'rt', sched: 'rtds', cpus: [2, 3] });
  assert.equal(file('pool1/cpuset.cpus'), '2-3');
  assert.equal(file('pool1/cpuset.mems'), '1');
  const a = await m.create(dom('a', { pool: 'rt', vcpus: 2 }));
  assert.equal(a.sched.pool, rt.poolid);
  assert.equal(a.config.c_info?.poolid, 1);
  await m.sched.setReservations(a.domid, { vcpus: [{ vcpuid: 1, period: 20000, budget: 5000, extratime: false }] });
  assert.equal(file('pool1/dom1/vcpu1/cpu.max'), '5000 20000');
  assert.equal(file('pool1/dom1/vcpu0/cpu.max'), 'max 10000');
  await assert.rejects(m.sched.setShare(a.domid, 'credit2', { weight: 5 }), fails('SCHED', [
    'libxl: error: libxl_sched.c:439:sched_credit2_domain_set: Domain 1:Getting domain sched credit2: Invalid argument', 'libxl_domain_sched_params_set failed.',
  ]));
  await assert.rejects(m.sched.destroyPool('rt'), fails('CPUPOOL', []));
  assert.deepEqual((await m.sched.removeCpus('1', [2, 3])).errors, [
    'libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 3 from cpupool: Device or resource busy',
  ]);
  const moved = await m.sched.migrate(a.domid, 'Pool-0');
  assert.deepEqual(moved.sched.vcpus[1], { period: 10000, budget: 4000, extratime: true });
  assert.equal(file('pool0/dom1/cgroup.procs'), '1001');
  assert.equal(file('pool0/dom1/vcpu1/cgroup.threads'), '2011');
  assert.ok(has('pool1/dom1') === false || has('pool1/dom1/cgroup.procs'), 'a fake mount keeps files: the move removed what it could');
  await m.sched.setShare(a.domid, 'credit2', { weight: 1024, cap: 150 });
  assert.equal(file('pool0/dom1/cpu.max'), '150000 100000');
  await m.registry.flush();
  const again = await open(dir);
  assert.deepEqual(again.m.sched.pools.list().map((p) => [p.name, p.sched, p.cpus]), [['Pool-0', 'credit2', [0, 1]], ['rt', 'rtds', [3]]]);
  assert.deepEqual(again.m.registry.require(1).sched, { ...moved.sched, weight: 1024, cap: 150 });
});

test('a restart keeps the pool and parameters; without its pool it falls back to the config\'s', async () => {
  const { m } = await open();
  await m.sched.removeCpus('Pool-0', [1]);
  await m.sched.createPool({ name: 'c', sched: 'credit', cpus: [1] });
  const a = await m.create(dom('a'));
  await m.sched.migrate(a.domid, 'c');
  const kept = await m.sched.setShare(a.domid, 'credit', { weight: 77 });
  await m.destroy(a.domid);
  const b = await m.create({ ...dom('a'), sched: kept.sched });
  assert.deepEqual(b.sched, kept.sched);
  await m.destroy(b.domid);
  await m.sched.removeCpus('c', [1]);
  const c = await m.create({ ...dom('a'), sched: kept.sched });
  assert.deepEqual([c.sched.pool, c.sched.weight], [0, 256]);
});

test('without cgroups: a plain domain is made; pools and parameters fail with the reason', async () => {
  const { m } = await open(undefined, false);
  const a = await m.create(dom('a'));
  await assert.rejects(m.sched.setShare(a.domid, 'credit2', { weight: 5 }), fails('CGROUP'));
  await assert.rejects(m.sched.createPool({ name: 'p', sched: 'credit', cpus: [] }), fails('CGROUP'));
  await assert.rejects(m.create(dom('b', { weight: 5 })), fails('CGROUP'));
  assert.equal(m.registry.size, 1);
});

test('Pool-0 takes the host\'s scheduler (sched=) at a start that finds it empty; one with domains keeps its own', async () => {
  const { m, dir } = await open();
  await m.create(dom('a'));
  await m.registry.flush();
  const log: string[] = [];
  const reopen = async (scheduler: 'credit' | 'credit2'): Promise<DomainManager> => DomainManager.open({
    domainsDir: join(dir, 'domains'), driver: new ThreadsDriver(), log: (l) => log.push(l),
    sched: { host: { ...HOST, scheduler }, poolsFile: join(dir, 'cpupools.json'), cgroups: new ToolstackError('CGROUP', 'none here') },
  });
  const kept = await reopen('credit');
  assert.equal(kept.sched.pools.get(0)?.sched, 'credit2');
  assert.ok(log.includes('Pool-0 keeps its scheduler credit2 while domains run in it: sched=credit applies once it is empty at a dom0d start'), log.join('\n'));
  await kept.destroy(1);
  await kept.registry.flush();
  const switched = await reopen('credit');
  assert.equal(switched.sched.pools.get(0)?.sched, 'credit');
  assert.ok(log.includes('Pool-0 now runs credit (sched=)'));
});
