import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { cpupoolConfig, hostCpuList } from './cpupool-cfg.js';
import type { CpupoolHost } from './cpupool-cfg.js';
import { readOtherConfig } from './xlconf.js';

/** CPUs 0-3 on node 0, 4-7 on node 1; 0 and 1 in Pool-0, the rest free. */
const HOST: CpupoolHost = {
  cpus: [0, 1, 2, 3, 4, 5, 6, 7].map((cpu) => ({ cpu, node: cpu < 4 ? 0 : 1 })),
  freeCpus: [2, 3, 4, 5, 6, 7],
  poolNames: ['Pool-0'],
  scheduler: 'credit2',
};

const read = (...args: string[]): ReturnType<typeof cpupoolConfig> => cpupoolConfig(readOtherConfig(undefined, args), HOST, undefined, []);

function fails(f: () => unknown, line: string): void {
  assert.throws(f, (e: unknown) => isToolstackError(e) && e.lines?.[0] === line && e.hint !== undefined);
}

test('cpupoolConfig(): name, sched (the host\'s by default, any case), and the CPUs by list, cpulist or nodes', () => {
  assert.deepEqual(read('name="p"', 'cpus=[2, "3"]'), { name: 'p', sched: 'credit2', cpus: [2, 3] });
  assert.deepEqual(read('name="p"', 'sched="RTDS"', 'cpus="2-4,^3"'), { name: 'p', sched: 'rtds', cpus: [2, 4] });
  assert.deepEqual(read('name="p"', 'cpus="node:1"'), { name: 'p', sched: 'credit2', cpus: [4, 5, 6, 7] });
  assert.deepEqual(read('name="p"', 'nodes=[0]', 'cpus="4"'), { name: 'p', sched: 'credit2', cpus: [2, 3] });
  assert.deepEqual(read('name="p"', 'sched="arinc653"'), { name: 'p', sched: 'arinc653', cpus: [] });
  const warnings: string[] = [];
  assert.deepEqual(cpupoolConfig(readOtherConfig(undefined, ['name="p"', 'nodes=1']), HOST, undefined, warnings).cpus, []);
  assert.deepEqual(warnings, ["command line:3: warning: parameter `nodes' is a single value but should be a list"]);
});

test('cpupoolConfig(): xl\'s lines for a missing or taken name, an unknown scheduler, CPUs not free', () => {
  fails(() => read('cpus="2"'), 'Missing cpupool name!');
  fails(() => read('name="Pool-0"'), 'Pool name "Pool-0" already exists');
  fails(() => read('name="p"', 'sched="fair"'), 'Unknown scheduler');
  fails(() => read('name="p"', 'cpus=[1]'), 'cpu 1 illegal or not free');
  fails(() => read('name="p"', 'cpus=["-1"]'), 'cpu -1 illegal or not free');
  fails(() => read('name="p"', 'cpus="0-2"'), 'cpu 0 illegal or not free');
  fails(() => read('name="p"', 'nodes=[5]'), 'no free cpu found');
  assert.throws(() => read('name="p"', 'cpus="2-x"'), (e: unknown) => isToolstackError(e, 'SPEC_CPUS') && e.lines?.[0] === 'Invalid pcpu range: 2-x.');
});

test('readOtherConfig(): a file\'s name is the pool\'s by default; syntax errors end as xl\'s for such configs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-cpupool-cfg-'));
  try {
    const file = join(dir, 'pool1.cfg');
    writeFileSync(file, 'sched = "credit"\ncpus = [ 5 ]\n');
    assert.deepEqual(cpupoolConfig(readOtherConfig(file, ['cpus=[6]']), HOST, file, []), { name: 'pool1.cfg', sched: 'credit', cpus: [6] });
    assert.throws(() => readOtherConfig(undefined, ['name=p']), (e: unknown) => isToolstackError(e, 'CFG_SYNTAX')
      && e.lines?.[0] === "command line:2: config parsing error near `p': syntax error, unexpected IDENT, expecting STRING or NUMBER or '['"
      && e.lines.at(-1) === 'Failed to parse config file: Invalid argument');
    assert.throws(() => readOtherConfig(join(dir, 'nope.cfg')), (e: unknown) => isToolstackError(e, 'CFG_READ')
      && e.lines?.[0] === `Failed to read config file: ${join(dir, 'nope.cfg')}: No such file or directory`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostCpuList(): xl\'s cpulist on this host\'s bitmap, node: by the CPUs\' nodes', () => {
  assert.deepEqual(hostCpuList('1,5,6-7,^6', HOST.cpus), [1, 5, 7]);
  assert.deepEqual(hostCpuList('node:0,^1', HOST.cpus), [0, 2, 3]);
  assert.deepEqual(hostCpuList('9', HOST.cpus), []);
  assert.deepEqual(hostCpuList('all', [{ cpu: 0, node: 0 }, { cpu: 1, node: 0 }]), [0, 1, 2, 3, 4, 5, 6, 7]);
});
