// `xl info` against a private dom0d: Xen's fields in Xen's order and format, the host's own
// figures (checked against /proc and sysfs), free memory net of what the guests hold, the
// `-n` tables, the field filter, --json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { destroyHost, makeHost, registerDomain, xl } from './daemon-harness.js';

const host = makeHost();
after(() => destroyHost(host));

const XEN_FIELDS = [
  'host', 'release', 'version', 'machine', 'nr_cpus', 'max_cpu_id', 'nr_nodes', 'cores_per_socket', 'threads_per_core',
  'cpu_mhz', 'hw_caps', 'virt_caps', 'total_memory', 'free_memory', 'sharing_freed_memory', 'sharing_used_memory',
  'outstanding_claims', 'free_cpus', 'xen_major', 'xen_minor', 'xen_extra', 'xen_version', 'xen_caps', 'xen_scheduler',
  'xen_pagesize', 'platform_params', 'xen_changeset', 'xen_commandline', 'cc_compiler', 'cc_compile_by',
  'cc_compile_domain', 'cc_compile_date', 'build_id', 'accelerator', 'xend_config_format',
];

function fields(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n').filter((l) => l !== '')) {
    const at = /^(\S+)\s*: (.*)$/.exec(line);
    assert.ok(at !== null && line.indexOf(':') === 23, `not an xl info line: ${JSON.stringify(line)}`);
    m.set(at[1] as string, at[2] as string);
  }
  return m;
}

test('xl info: every field in order, padded to column 23, from the real host', async () => {
  const r = await xl(host, 'info');
  assert.equal(r.code, 0, r.err);
  const f = fields(r.out);
  assert.deepEqual([...f.keys()], XEN_FIELDS);
  const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const last = Number(online.split(/[-,]/).at(-1));
  assert.equal(f.get('max_cpu_id'), String(last));
  const memTotal = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  assert.equal(f.get('total_memory'), String(Math.floor(memTotal / 1024)));
  assert.match(f.get('hw_caps') ?? '', /^([0-9a-f]{8}:){7}[0-9a-f]{8}$/);
  assert.match(f.get('cpu_mhz') ?? '', /^\d+\.\d{3}$/);
  assert.match(f.get('accelerator') ?? '', /^(kvm|tcg) \(/);
  assert.equal(f.get('xend_config_format'), '4');
});

test('xl info: free_memory leaves out what the guests were given', async () => {
  await registerDomain(host, 'big', 4 * 1024 * 1024);
  const f = fields((await xl(host, 'info')).out);
  assert.ok(Number(f.get('free_memory')) <= Number(f.get('total_memory')) - 4096, `${f.get('free_memory')} of ${f.get('total_memory')}`);
});

test('xl info -n: the topology tables after free_cpus; a field name prints values only; --json', async () => {
  const n = await xl(host, 'info', '-n');
  assert.equal(n.code, 0, n.err);
  assert.match(n.out, /free_cpus {14}: 0\ncpu_topology {11}:\ncpu: {4}core {4}socket {5}node\n( {0,2}\d+: +\d+ +\d+ +\d+\n)+device topology {8}:\n/);
  assert.match(n.out, /numa_info {14}:\nnode: {4}memsize {4}memfree {4}distances\n( +\d+: +\d+ +\d+ +[\d,]+\n)+xen_major/);
  const only = await xl(host, 'info', 'xen_m');
  assert.equal(only.out, '4\n17\n');
  const j = JSON.parse((await xl(host, 'info', '--json')).out) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), XEN_FIELDS);
});
