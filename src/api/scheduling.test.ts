// The scheduling part of the API as dom0d serves it: its data, its checks of requests, Domain-0.
// A manager without cgroups (the default): pools and parameters cannot be applied.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import type { ErrorCode } from '../common/index.js';
import { DomainManager } from '../domain/index.js';
import { ToolstackService } from './service.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-sched-api-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function service(): Promise<ToolstackService> {
  const dir = join(root, String(++n));
  const manager = await DomainManager.open({ domainsDir: join(dir, 'domains') });
  return new ToolstackService(manager, { paths: { stateDir: dir } as never, startedAt: 0 });
}

const is = (code: ErrorCode, line?: string) => (e: unknown): boolean => isToolstackError(e, code) && (line === undefined || e.lines?.[0] === line);

test('getScheduling(): the host\'s scheduler and CPUs, Pool-0 of every CPU (Domain-0 counted), every domain\'s parameters', async () => {
  const s = await service();
  await s.registerDomain({ config: { c_info: { name: 'g' }, b_info: { max_vcpus: 2, avail_vcpus: [0] } } });
  const info = await s.getScheduling();
  assert.equal(info.scheduler, 'credit2');
  assert.deepEqual(info.freeCpus, []);
  assert.deepEqual(info.pools.map((p) => [p.poolid, p.name, p.sched, p.cpus.length, p.domains]), [[0, 'Pool-0', 'credit2', info.cpus.length, 2]]);
  assert.deepEqual(info.domains.map((d) => [d.domid, d.name, d.pool, d.weight, d.cap]), [[0, 'Domain-0', 0, 256, 0], [1, 'g', 0, 256, 0]]);
  assert.deepEqual(info.domains[1]?.vcpus, [{ period: 10000, budget: 4000, extratime: true }, { period: 10000, budget: 4000, extratime: true }]);
  assert.equal((await s.getDomain({ ref: 'g' })).cpupool, 'Pool-0');
});

test('bad requests are USAGE; Domain-0 is the host; without cgroups nothing is applied (CGROUP)', async () => {
  const s = await service();
  await s.registerDomain({ config: { c_info: { name: 'g' } } });
  await assert.rejects(s.setDomainSched({ ref: 'g', sched: 'rtds' as never }), is('USAGE'));
  await assert.rejects(s.setDomainSched({ ref: 'g', sched: 'credit2', weight: 1.5 }), is('USAGE'));
  await assert.rejects(s.setVcpuSched({ ref: 'g' }), is('USAGE'));
  await assert.rejects(s.setVcpuSched({ ref: 'g', vcpus: [] }), is('USAGE'));
  await assert.rejects(s.setVcpuSched({ ref: 'g', all: { period: 1, budget: 1 } as never }), is('USAGE'));
  await assert.rejects(s.createCpupool({ name: '', sched: 'credit', cpus: [] }), is('CFG_VALUE'));
  await assert.rejects(s.addCpupoolCpus({ pool: '0', cpus: [-1] }), is('USAGE'));
  await assert.rejects(s.renameCpupool({ pool: '', name: 'x' }), is('USAGE'));
  await assert.rejects(s.setDomainSched({ ref: '0', sched: 'credit2', weight: 5 }), is('NOT_SUPPORTED'));
  await assert.rejects(s.migrateToCpupool({ ref: 'Domain-0', pool: '0' }), is('CPUPOOL', 'libxl: error: libxl_cpupool.c:437:libxl_cpupool_movedomain: Error moving domain to cpupool'));
  await assert.rejects(s.migrateToCpupool({ ref: 'Domain-0', pool: 'nope' }), is('CPUPOOL', "unknown cpupool 'nope'"));
  await assert.rejects(s.destroyCpupool({ pool: '3' }), is('CPUPOOL', "unknown cpupool '3'"));
  await assert.rejects(s.setDomainSched({ ref: 'g', sched: 'credit2', weight: 5 }), is('CGROUP'));
  await assert.rejects(s.createCpupool({ name: 'p', sched: 'credit', cpus: [] }), is('CGROUP'));
  await assert.rejects(s.setDomainSched({ ref: 'g', sched: 'credit', weight: 5 }), is('SCHED', 'libxl: error: libxl_sched.c:232:sched_credit_domain_set: Domain 1:Getting domain sched credit: Invalid argument'));
  await assert.rejects(s.setPoolSched({ pool: '0', sched: 'credit2', ratelimitUs: 5 }), is('SCHED'));
  assert.deepEqual((await s.setPoolSched({ pool: 'Pool-0', sched: 'credit2', ratelimitUs: 500 })).params.ratelimitUs, 500);
});
