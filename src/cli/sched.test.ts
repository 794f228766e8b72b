import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { goldenSections } from '../../test/support/golden.js';
import type { CpupoolInfo, DomainSchedInfo, SchedulingInfo } from '../api/index.js';
import { isToolstackError } from '../common/index.js';
import type { CommandContext, CommandImpl } from './command.js';
import { cpupoolListCommand } from './commands/cpupool-list.js';
import { schedCredit2Command } from './commands/sched-credit2.js';
import { schedCreditCommand } from './commands/sched-credit.js';
import { schedRtdsCommand } from './commands/sched-rtds.js';
import { cpupoolTable } from './cpupool.js';
import { schedPool, schedSections, wrongScheduler } from './sched.js';

const golden = goldenSections('cli/sched-cpupool.txt');
const params = { tsliceMs: 30, ratelimitUs: 1000, migrationDelayUs: 0 };
const rtdsDefault = { period: 10000, budget: 4000, extratime: true };
const INFO: SchedulingInfo = {
  scheduler: 'credit',
  cpus: [0, 1, 2, 3, 4, 5, 6, 7].map((cpu) => ({ cpu, node: 0 })),
  freeCpus: [],
  pools: [
    { poolid: 0, name: 'Pool-0', sched: 'credit', cpus: [0, 1, 2, 3, 4, 5, 6, 7], domains: 3, params },
    { poolid: 1, name: 'rt', sched: 'rtds', cpus: [], domains: 2, params },
  ],
  domains: [
    { domid: 0, name: 'Domain-0', pool: 0, weight: 256, cap: 0, vcpus: [rtdsDefault] },
    { domid: 2, name: 'vm1', pool: 1, weight: 256, cap: 0, vcpus: [{ period: 300, budget: 150, extratime: true }] },
    { domid: 3, name: 'guest1', pool: 0, weight: 512, cap: 50, vcpus: [rtdsDefault] },
    { domid: 4, name: 'a-domain-name-longer-than-33-columns', pool: 1, weight: 256, cap: 0, vcpus: [{ ...rtdsDefault, extratime: false }] },
  ],
};
const pool = (i: number): CpupoolInfo => INFO.pools[i] as CpupoolInfo;
const domain = (domid: number): DomainSchedInfo => INFO.domains.find((d) => d.domid === domid) as DomainSchedInfo;

function render(cmd: CommandImpl, data: unknown): string {
  return cmd.render?.(data) ?? '';
}

test('sched-credit, sched-credit2, sched-rtds: the pool line, header and rows of Xen\'s listings', () => {
  assert.equal(render(schedCreditCommand, { kind: 'list', sections: schedSections(INFO, 'credit', undefined) }), golden.get('sched-credit'));
  const credit2: SchedulingInfo = { ...INFO, pools: [{ ...pool(0), sched: 'credit2' }], domains: [domain(0)] };
  assert.equal(render(schedCredit2Command, { kind: 'list', sections: schedSections(credit2, 'credit2', undefined) }), golden.get('sched-credit2'));
  assert.equal(render(schedRtdsCommand, { kind: 'list', sections: schedSections({ ...INFO, domains: [domain(2)] }, 'rtds', undefined) }), golden.get('sched-rtds'));
  assert.equal(render(schedRtdsCommand, { kind: 'vcpuList', sections: schedSections(INFO, 'rtds', undefined) }), golden.get('sched-rtds -v all'));
  assert.equal(render(schedRtdsCommand, { kind: 'vcpus', rows: [{ domain: domain(2), vcpu: 0, r: domain(2).vcpus[0] }] }), golden.get('sched-rtds -d vm1 -v 0'));
  assert.equal(render(schedCreditCommand, { kind: 'list', sections: schedSections(INFO, 'credit', pool(1)) }), '');
  assert.equal(render(schedCreditCommand, { kind: 'pool', pool: pool(0) }), 'Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n');
  assert.equal(render(schedCreditCommand, { kind: 'pool', pool: pool(1) }), 'Cpupool rt: [sched params unavailable]\n');
  assert.equal(render(schedCredit2Command, { kind: 'pool', pool: { ...pool(0), sched: 'credit2', params: { ...params, ratelimitUs: 500 } } }), 'Cpupool Pool-0: ratelimit=500us\n');
  assert.equal(render(schedCreditCommand, { kind: 'domain', domain: domain(3) }), golden.get('sched-credit')?.split('\n').filter((_, i) => i === 1 || i === 3).map((l) => `${l}\n`).join(''));
});

test('cpupool-list [-c]: Xen\'s table', () => {
  assert.equal(cpupoolTable(INFO.pools, false), golden.get('cpupool-list'));
  assert.equal(cpupoolTable(INFO.pools, true), golden.get('cpupool-list -c'));
  assert.equal(render(cpupoolListCommand, { pools: [pool(1)], cpus: false }), 'Name               CPUs   Sched     Active   Domain count\nrt                   0      rtds       y          2\n');
});

test('schedPool() takes a poolid or a name (Pool-0 when none), else xl\'s line; wrongScheduler() is xl\'s after the header', () => {
  assert.equal(schedPool(INFO, undefined).poolid, 0);
  assert.equal(schedPool(INFO, '1').name, 'rt');
  assert.equal(schedPool(INFO, 'rt').poolid, 1);
  assert.throws(() => schedPool(INFO, '7'), (e: unknown) => isToolstackError(e, 'CPUPOOL') && e.lines?.[0] === "unknown cpupool '7'");
  const e = wrongScheduler(domain(2), INFO, 'credit', 'HEADER\n');
  assert.deepEqual([e.lines, e.stdout], [['libxl_domain_sched_params_get returned rtds not credit.'], 'HEADER\n']);
});

/** A context whose dom0d is never reached: these failures come first. */
function ctx(): CommandContext {
  return {
    dryRun: false, force: false, verbose: 0, json: false, env: { DOM0_RUN_DIR: '/nonexistent/dom0-run' }, cwd: '/',
    stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), warn: () => undefined,
  };
}

async function xlFails(cmd: CommandImpl, args: string[], line: string, exitCode = 1): Promise<void> {
  await assert.rejects(cmd.run(ctx(), args), (e: unknown) => {
    assert.ok(isToolstackError(e), String(e));
    assert.deepEqual([e.lines?.[0] ?? e.message, e.exitCode], [line, exitCode]);
    return true;
  });
}

test('sched-credit / sched-credit2: xl\'s option checks, in its order', async () => {
  await xlFails(schedCreditCommand, ['-p', 'Pool-0', '-d', 'vm'], 'Specifying a cpupool or schedparam is not allowed with domain options.');
  await xlFails(schedCreditCommand, ['-s', '-w', '5'], 'Specifying a cpupool or schedparam is not allowed with domain options.');
  await xlFails(schedCreditCommand, ['--weight=5'], 'Must specify a domain.');
  await xlFails(schedCreditCommand, ['-t', '10'], 'Must specify schedparam to set schedule parameter values.');
  await xlFails(schedCreditCommand, ['-x'], "option `x' not supported.", 2);
  await xlFails(schedCredit2Command, ['-p', '0', '-c', '5'], 'Specifying a cpupool is not allowed with other options.');
  await xlFails(schedCredit2Command, ['-c', '5'], 'Must specify a domain.');
  await xlFails(schedCredit2Command, ['-t', '5'], "option `t' not supported.", 2);
});

test('sched-rtds: extratime is 0 or 1; a cpupool goes alone; -v with -p -b -e for each vCPU', async () => {
  await xlFails(schedRtdsCommand, ['-d', 'vm', '-v', '0', '-p', '10', '-b', '5', '-e', 'yes'], 'Invalid extratime.');
  await xlFails(schedRtdsCommand, ['--cpupool=rt', '-v', 'all'], 'Specifying a cpupool is not allowed with other options.');
  await xlFails(schedRtdsCommand, ['-v', '0'], 'Missing parameters.');
  await xlFails(schedRtdsCommand, ['-d', 'vm', '-p', '10'], 'Must specify VCPU.');
  await xlFails(schedRtdsCommand, ['-d', 'vm', '-v', '0', '-v', 'all'], 'Incorrect VCPU IDs.');
  await xlFails(schedRtdsCommand, ['-d', 'vm', '-v', '0', '-p', '10', '-b', '5'], 'Incorrect number of period, budget and extratime');
  await xlFails(schedRtdsCommand, ['-d', 'vm', '-v', '0', '-v', '1', '-p', '10', '-b', '5', '-e', '1'], 'Incorrect number of period, budget and extratime');
});
