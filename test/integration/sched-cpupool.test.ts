// Schedulers and CPU pools on the host's cgroups, through `xl` and an autostarted dom0d, read back
// from the cgroup files and /proc. xl.conf has `sched="credit"` (Xen's boot option), so Pool-0
// runs credit. One PV guest, created paused (its QEMU threads exist; no boot needed), is reused
// in order: it lands in Pool-0's groups with its cpu_weight; sched-credit sets weight and cap;
// Pool-0 gives CPU 1 to a new rtds pool, the guest's cpuset follows; cpupool-migrate moves every
// QEMU thread; sched-rtds sets each vCPU's reservation; a second guest starts in the rtds pool by
// pool=; a dom0d killed and restarted keeps it all; a reboot keeps the pool and parameters;
// destroy and cpupool-destroy remove their groups; numa-split makes a pool per node; the stopped
// dom0d removes its own groups.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dom0CgroupName } from '../../src/domain/index.js';
import { findCpuCgroups, formatCgroupList, onlineCpus } from '../../src/host/index.js';
import type { CgroupMounts } from '../../src/host/index.js';
import { ensureGuests } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyDomains, destroyHost, makeHost, readPid, waitGone, xlIn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

/** The host's cgroups, v1 here (cgroup v2 where it offers cpu and cpuset): the files differ. */
const MOUNTS = findCpuCgroups() as CgroupMounts;
const V1 = MOUNTS.version === 1;
let host: TestHost;
let guests: GuestImages;
/** dom0d's top group (sched-cgroups.ts: a hash of its run directory). */
let top = '';
let dom = 0;
/** The host's CPUs (at least 2), all of them and all but CPU 1, as cpuset files list them. */
const CPUS = onlineCpus();
const ALL = formatCgroupList(CPUS);
const BUT1 = formatCgroupList(CPUS.filter((c) => c !== 1));

before(() => {
  guests = ensureGuests();
  host = makeHost();
  host.env['DOM0_RESTART_DELAY_MS'] = '100';
  top = dom0CgroupName(host.runDir);
  assert.ok(CPUS.includes(0) && CPUS.includes(1), `CPU pools need CPUs 0 and 1 online: ${ALL}`);
  const conf = host.env['DOM0_CONFIG_DIR'] as string;
  mkdirSync(conf, { recursive: true });
  writeFileSync(join(conf, 'xl.conf'), 'sched = "credit"\n');
  writeFileSync(join(host.root, 'g.cfg'), [
    'name = "g"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
    'vcpus = 2',
    'cpu_weight = 512',
  ].join('\n'));
});

after(async () => {
  await destroyDomains(host);
  await destroyHost(host);
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** `xl ARGS` that fails with exit status `code`, exactly `lines` on stderr, then a hint. */
async function fails(args: readonly string[], lines: readonly string[], code = 1): Promise<Run> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, code, `xl ${args.join(' ')}: ${r.err}`);
  const got = r.err.trimEnd().split('\n');
  assert.deepEqual(got.slice(0, -1), lines, r.err);
  assert.match(got.at(-1) as string, /^hint: /);
  return r;
}

/** A file of one of dom0d's groups. */
function cg(controller: 'cpu' | 'cpuset', path: string, file: string): string {
  return readFileSync(join(MOUNTS[controller], top, path, file), 'utf8').trim();
}

function group(controller: 'cpu' | 'cpuset', path: string): boolean {
  return existsSync(join(MOUNTS[controller], top, path));
}

/** The CPUs a group's threads may use. */
function cpusOf(path: string): string {
  return cg('cpuset', path, V1 ? 'cpuset.cpus' : 'cpuset.cpus.effective');
}

/** A domain's weight and cap (v1: shares, quota/period; v2: cpu.weight, cpu.max). */
function share(path: string): string[] {
  return V1 ? ['cpu.shares', 'cpu.cfs_quota_us', 'cpu.cfs_period_us'].map((f) => cg('cpu', path, f)) : ['cpu.weight', 'cpu.max'].map((f) => cg('cpu', path, f));
}

/** A vCPU's bandwidth: quota and period (v1 -1 or v2 max for none). */
function bandwidth(path: string): [string, string] {
  const [q, p] = V1 ? [cg('cpu', path, 'cpu.cfs_quota_us'), cg('cpu', path, 'cpu.cfs_period_us')] : cg('cpu', path, 'cpu.max').split(' ');
  return [q === 'max' ? '-1' : q as string, p as string];
}

function qemuPid(domid: number): number {
  return Number(readFileSync(join(host.runDir, 'domains', String(domid), 'qemu.pid'), 'utf8').trim().split(/\s+/)[0]);
}

/**
 * Every thread of the domain's QEMU, as /proc tells: its name, its cpu and cpuset cgroups, the
 * CPUs it may run on.
 */
function threads(domid: number): Array<{ comm: string; cpu: string; cpuset: string; allowed: string }> {
  const pid = qemuPid(domid);
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const t = `/proc/${pid}/task/${tid}`;
    const cgroups = readFileSync(`${t}/cgroup`, 'utf8');
    const of = (c: string): string => new RegExp(V1 ? `^\\d+:${c}:(.*)$` : '^0::(.*)$', 'm').exec(cgroups)?.[1] ?? '';
    return {
      comm: readFileSync(`${t}/comm`, 'utf8').trim(),
      cpu: of('cpu'),
      cpuset: of('cpuset'),
      allowed: /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`${t}/status`, 'utf8'))?.[1] ?? '',
    };
  });
}

/** Every QEMU thread of the domain in `pool<poolid>/dom<domid>`, each vCPU's in its `vcpu<n>`, allowed `cpus`. */
function assertPlaced(domid: number, poolid: number, cpus: string): void {
  const ts = threads(domid);
  assert.ok(ts.filter((t) => t.comm.startsWith('CPU ')).length === 2, JSON.stringify(ts));
  for (const t of ts) {
    const vcpu = /^CPU (\d+)\//.exec(t.comm)?.[1];
    const want = `/${top}/pool${poolid}/dom${domid}${vcpu === undefined ? '' : `/vcpu${vcpu}`}`;
    assert.deepEqual([t.comm, t.cpu, t.cpuset, t.allowed], [t.comm, want, want, cpus]);
  }
}

async function domid(name: string): Promise<number> {
  return Number((await ok('domid', name)).out.trim());
}

test('an unknown sched= is reported as Xen\'s boot does, and the default (credit2) runs', async () => {
  const other = makeHost();
  try {
    mkdirSync(other.env['DOM0_CONFIG_DIR'] as string, { recursive: true });
    writeFileSync(join(other.env['DOM0_CONFIG_DIR'] as string, 'xl.conf'), 'sched = "sedf"\n');
    const r = await xlIn(other, other.root, 'info', 'xen_scheduler');
    assert.deepEqual([r.code, r.out], [0, 'credit2\n']);
    assert.match(readFileSync(join(other.logDir, 'dom0d.log'), 'utf8'), /Could not find scheduler: sedf \(xl\.conf sched=\): the scheduler is credit2/);
  } finally {
    await destroyHost(other);
  }
});

test('sched= in xl.conf names the host\'s scheduler: Pool-0 runs it, xl info shows it', async () => {
  const info = (await ok('info')).out;
  assert.match(info, /^xen_scheduler {10}: credit$/m);
  assert.match(info, /^free_cpus {14}: 0$/m);
  assert.equal((await ok('cpupool-list')).out, `Name               CPUs   Sched     Active   Domain count\nPool-0             ${String(CPUS.length).padStart(3)}    credit       y          1\n`);
  assert.equal(cpusOf('pool0'), ALL);
});

test('a new domain: its QEMU in Pool-0\'s groups, each vCPU thread in its own, cpu_weight as cpu.shares', async () => {
  await ok('create', '-p', 'g.cfg');
  dom = await domid('g');
  assertPlaced(dom, 0, ALL);
  assert.equal(share(`pool0/dom${dom}`)[0], V1 ? '2048' : '200');
  assert.equal((await ok('list', '-c', 'g')).out.split('\n')[1]?.endsWith('Pool-0'), true);
  assert.equal((await ok('sched-credit', '-d', 'g')).out, `Name                                ID Weight  Cap\ng${' '.repeat(32)} ${String(dom).padStart(4)}    512    0\n`);
});

test('sched-credit -w -c: cpu.shares and the CFS quota; libxl\'s ranges refused, the files unchanged', async () => {
  await ok('sched-credit', '-d', 'g', '-w', '1024', '-c', '50');
  assert.deepEqual(share(`pool0/dom${dom}`), V1 ? ['4096', '50000', '100000'] : ['400', '50000 100000']);
  await ok('sched-credit', '-d', 'g', '-c', '0');
  assert.deepEqual(share(`pool0/dom${dom}`), V1 ? ['4096', '-1', '100000'] : ['400', 'max 100000']);
  await fails(['sched-credit', '-d', 'g', '-w', '70000'], [
    `libxl: error: libxl_sched.c:238:sched_credit_domain_set: Domain ${dom}:Cpu weight out of range, valid values are within range from 1 to 65535`,
    'libxl_domain_sched_params_set failed.',
  ]);
  await fails(['sched-credit', '-d', 'g', '-c', '201'], [
    `libxl: error: libxl_sched.c:248:sched_credit_domain_set: Domain ${dom}:Cpu cap out of range, valid range is from 0 to 200 for specified number of vcpus`,
    'libxl_domain_sched_params_set failed.',
  ]);
  await fails(['sched-credit2', '-d', 'g', '-w', '5'], [
    `libxl: error: libxl_sched.c:439:sched_credit2_domain_set: Domain ${dom}:Getting domain sched credit2: Invalid argument`,
    'libxl_domain_sched_params_set failed.',
  ]);
  assert.equal(share(`pool0/dom${dom}`)[0], V1 ? '4096' : '400');
  const list = (await ok('sched-credit')).out.split('\n');
  assert.deepEqual(list.slice(0, 2), ['Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us', 'Name                                ID Weight  Cap']);
  assert.ok(list.includes(`g${' '.repeat(32)} ${String(dom).padStart(4)}   1024    0`), list.join('\n'));
  // The config as libxl retrieves it — what xl list -l shows, xl save and xl migrate send — has the
  // live weight (before, the created one: a restored or migrated domain lost the change).
  assert.match((await ok('list', '-l', 'g')).out, /"sched_params": \{[^}]*"weight": 1024/);
  await ok('sched-credit', '-s', '-t', '10', '-r', '500');
  assert.equal((await ok('sched-credit', '-s', '-p', 'Pool-0')).out, 'Cpupool Pool-0: tslice=10ms ratelimit=500us migration-delay=0us\n');
});

test('CPU pools: Pool-0 gives CPU 1 up (the guest\'s cpuset follows), an rtds pool takes it; Xen\'s refusals', async () => {
  await fails(['cpupool-create', 'name="rt"', 'sched="rtds"', 'cpus=[1]'], ['cpu 1 illegal or not free']);
  await ok('cpupool-cpu-remove', 'Pool-0', '1');
  assert.equal(cpusOf('pool0'), BUT1);
  assert.equal(cpusOf(`pool0/dom${dom}/vcpu1`), BUT1);
  assertPlaced(dom, 0, BUT1);
  const made = await ok('cpupool-create', 'name="rt"', 'sched="rtds"', 'cpus=[1]');
  assert.equal(made.out, 'Using config file "command line"\ncpupool name:   rt\nscheduler:      rtds\nnumber of cpus: 1\n');
  assert.equal(cpusOf('pool1'), '1');
  await ok('cpupool-rename', '1', 'fast');
  assert.equal((await ok('cpupool-list', '-c')).out, `Name               CPU list\nPool-0             ${CPUS.filter((c) => c !== 1).join(',')}\nfast               1\n`);
  await ok('cpupool-rename', 'fast', 'rt');
  const r = await ok('cpupool-cpu-remove', 'Pool-0', '0');
  assert.equal(r.err, 'libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 0 from cpupool: Invalid argument\n' +
    "Some cpus may have not or only partially been removed from 'Pool-0'.\nIf a cpu can't be added to another cpupool, add it to 'Pool-0' again and retry.\n");
  await fails(['cpupool-destroy', 'Pool-0'], ["Can't destroy cpupool 'Pool-0'"]);
  await fails(['cpupool-migrate', 'g', 'nosuch'], ["unknown cpupool 'nosuch'"]);
  await fails(['cpupool-list', 'nosuch'], ["Pool 'nosuch' does not exist"]);
});

test('cpupool-migrate moves every QEMU thread into the rtds pool\'s groups; sched-rtds sets each vCPU\'s reservation', async () => {
  await ok('cpupool-migrate', 'g', 'rt');
  assertPlaced(dom, 1, '1');
  assert.equal(group('cpu', `pool0/dom${dom}`) || group('cpuset', `pool0/dom${dom}`), false);
  await fails(['sched-credit', '-d', 'g'], ['libxl_domain_sched_params_get returned rtds not credit.']);
  await ok('sched-rtds', '-d', 'g', '-v', '0', '-p', '20000', '-b', '5000', '-e', '0', '-v', '1', '-p', '300', '-b', '150', '-e', '0');
  assert.deepEqual(bandwidth(`pool1/dom${dom}/vcpu0`), ['5000', '20000']);
  assert.deepEqual(bandwidth(`pool1/dom${dom}/vcpu1`), ['1000', '2000']);
  await ok('sched-rtds', '-d', 'g', '-v', '1', '-p', '10000', '-b', '4000', '-e', '1');
  assert.deepEqual(bandwidth(`pool1/dom${dom}/vcpu1`), ['-1', '10000']);
  assert.equal((await ok('sched-rtds', '-d', 'g', '-v', 'all')).out, 'Name                                ID VCPU    Period    Budget  Extratime\n' +
    `g${' '.repeat(32)} ${String(dom).padStart(4)}    0     20000      5000         no\ng${' '.repeat(32)} ${String(dom).padStart(4)}    1     10000      4000        yes\n`);
  await fails(['sched-rtds', '-d', 'g', '-v', '0', '-p', '100', '-b', '200', '-e', '0'], [
    'libxl: error: libxl_sched.c:489:sched_rtds_validate_params: VCPU budget must be smaller than or equal to period, but 200 > 100',
    'libxl_vcpu_sched_params_set failed.',
  ]);
  await fails(['sched-rtds', '-d', 'g', '-v', '2', '-p', '100', '-b', '50', '-e', '0'], [
    `libxl: error: libxl_sched.c:627:sched_rtds_vcpu_set: Domain ${dom}:Invalid VCPU 2: valid range is [0, 1]`,
    'libxl_vcpu_sched_params_set failed.',
  ]);
  assert.deepEqual(bandwidth(`pool1/dom${dom}/vcpu0`), ['5000', '20000']);
  const rm = await ok('cpupool-cpu-remove', 'rt', '1');
  assert.match(rm.err, /^libxl: error: libxl_cpupool.c:365:libxl_cpupool_cpuremove: Error removing cpu 1 from cpupool: Device or resource busy\n/);
  await fails(['cpupool-destroy', 'rt'], ["Can't destroy cpupool 'rt'"]);
});

test('pool= places a new domain; a dom0d killed and started again keeps pools, parameters and placement', async () => {
  await ok('create', '-p', 'g.cfg', 'name="h"', 'pool="rt"');
  const h = await domid('h');
  assertPlaced(h, 1, '1');
  assert.deepEqual(bandwidth(`pool1/dom${h}/vcpu0`), ['-1', '10000']);
  await fails(['create', '-p', 'g.cfg', 'name="i"', 'pool="nosuch"'], ['Parsing config from g.cfg', 'libxl: error: libxl_create.c:1132:libxl__domain_config_setdefault: Illegal pool specified: nosuch'], 3);
  await ok('destroy', 'h');
  assert.equal(group('cpu', `pool1/dom${h}`) || group('cpuset', `pool1/dom${h}`), false);
  const pid = readPid(host) as number;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  assert.match((await ok('cpupool-list')).out, /^rt {19}1      rtds       y          1$/m);
  assert.match((await ok('sched-rtds', '-d', 'g', '-v', '0')).out, / {4}0 {5}20000 {6}5000 {9}no\n$/);
  assertPlaced(dom, 1, '1');
  assert.deepEqual(bandwidth(`pool1/dom${dom}/vcpu0`), ['5000', '20000']);
});

test('a reboot keeps the pool and the vCPUs\' reservations (a new domain, a new QEMU)', async () => {
  await ok('unpause', 'g');
  await ok('reboot', 'g');
  const deadline = Date.now() + 30_000;
  let next = dom;
  while (next === dom) {
    if (Date.now() > deadline) throw new Error('the domain did not restart');
    await new Promise((r) => setTimeout(r, 200));
    const r = await xlIn(host, host.root, 'domid', 'g');
    if (r.code === 0) next = Number(r.out.trim());
  }
  dom = next;
  assertPlaced(dom, 1, '1');
  assert.deepEqual(bandwidth(`pool1/dom${dom}/vcpu0`), ['5000', '20000']);
  assert.match((await ok('list', '-c', 'g')).out, / {14}rt\n$/);
});

test('destroy and cpupool-destroy remove their groups; the pool\'s CPU goes back; numa-split; a stopped dom0d removes its own', async () => {
  await ok('cpupool-migrate', String(dom), 'Pool-0');
  assertPlaced(dom, 0, BUT1);
  await ok('destroy', 'g');
  assert.equal(group('cpu', `pool0/dom${dom}`) || group('cpuset', `pool0/dom${dom}`), false);
  await ok('cpupool-destroy', 'rt');
  assert.equal(group('cpu', 'pool1') || group('cpuset', 'pool1'), false);
  await ok('cpupool-cpu-add', 'Pool-0', '1');
  assert.equal(cpusOf('pool0'), ALL);
  // One pool per NUMA node, Pool-0 renamed after CPU 0's.
  const nodes = readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d)).length;
  const node0 = /node(\d+)/.exec(readdirSync('/sys/devices/system/cpu/cpu0').find((f) => /^node\d+$/.test(f)) ?? 'node0')?.[1];
  await ok('cpupool-numa-split');
  const split = (await ok('cpupool-list')).out.trimEnd().split('\n').slice(1);
  assert.equal(split.length, Math.max(1, nodes));
  assert.match(split[0] as string, new RegExp(`^Pool-node${node0} `));
  // Again: only where the split made pools (one node: Pool-0 alone, renamed once more).
  if (nodes > 1) await fails(['cpupool-numa-split'], ['splitting not possible, already cpupools in use']);
  else await ok('cpupool-numa-split');
  const pid = readPid(host) as number;
  process.kill(pid, 'SIGTERM');
  await waitGone(pid);
  assert.equal(group('cpu', '') || group('cpuset', ''), false);
});
