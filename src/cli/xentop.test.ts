import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainStats, StatsSample } from '../api/index.js';
import { xentopSummary, xentopTable } from './xentop.js';
import type { XentopView } from './xentop.js';

const flags = { running: false, blocked: false, paused: false, shutdown: false, dying: false };
const dom = (o: Partial<DomainStats> & Pick<DomainStats, 'domid' | 'name'>): DomainStats => ({
  uuid: '', state: 'running', flags: { ...flags, running: true }, shutdownReason: null, memKiB: 131072, vcpus: 1, cpuTimeNs: 0,
  startTime: 0, uptimeSec: 0, cpupool: 'Pool-0', maxMemKiB: 262144, vcpuTimesNs: [], nets: [], vbds: [], ...o,
});
const sample = (timeMs: number, domains: DomainStats[]): StatsSample => ({ timeMs, totalKiB: 1048576, freeKiB: 524288, cpus: 2, cpuKhz: 2400000, domains });
const VIEW: XentopView = { vcpus: false, networks: false, vbds: false, repeatHeader: false, fullName: false, dom0First: false, sortField: 0 };
const HEADER = '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';

test('xentopTable() prints xentop\'s header and rows: widths, state letters, CPU% between two samples, sorted by name', () => {
  const before = sample(0, [dom({ domid: 0, name: 'Domain-0', maxMemKiB: null, cpuTimeNs: 10e9 }), dom({ domid: 3, name: 'a-guest-with-a-long-name', cpuTimeNs: 4e9 })]);
  const now = sample(2000, [
    dom({ domid: 0, name: 'Domain-0', maxMemKiB: null, cpuTimeNs: 12e9, vcpus: 2 }),
    dom({
      domid: 3, name: 'a-guest-with-a-long-name', cpuTimeNs: 5e9, flags: { ...flags, paused: true }, state: 'paused',
      nets: [{ devid: 0, rxBytes: 2048, rxPackets: 2, rxErrors: 0, rxDropped: 0, txBytes: 123456789, txPackets: 9, txErrors: 0, txDropped: 1 }],
      vbds: [{ devid: 51712, readRequests: 12, writeRequests: 3, readSectors: 96, writeSectors: 24 }],
      vcpuTimesNs: [5e9],
    }),
  ]);
  assert.equal(xentopTable(now, before, VIEW), [
    '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID',
    'a-guest-wi ----p-          5   50.0     131072   12.5     262144      25.0     1    1   120563        2    1        0       12        3         96         24    0',
    '  Domain-0 -----r         12  100.0     131072   12.5   no limit       n/a     2    0        0        0    0        0        0        0          0          0    0',
    '',
  ].join('\n'));
  const detail = xentopTable(now, undefined, { ...VIEW, vcpus: true, networks: true, vbds: true, fullName: true, dom0First: true });
  const lines = detail.split('\n');
  assert.match(lines[0] as string, /^                    NAME  STATE/);
  assert.match(lines[1] as string, /^ {16}Domain-0 -----r {9}12 {4}0\.0 /);
  assert.equal(lines[2], 'VCPUs(sec): ');
  assert.equal(lines[4], 'VCPUs(sec):   0:          5s');
  assert.equal(lines[5], 'Net0 RX:     2048bytes        2pkts        0err        0drop  TX: 123456789bytes        9pkts        0err        1drop');
  assert.equal(lines[6], 'VBD BlkBack 51712 [ca: 0]  OO:        0   RD:       12   WR:        3   RSECT:         96   WSECT:         24');
});

test('xentopTable() with -r repeats the header before each domain; the summary counts each domain once', () => {
  const now = sample(Date.UTC(2026, 0, 1, 12, 0, 0), [dom({ domid: 0, name: 'Domain-0' }), dom({ domid: 1, name: 'b', flags: { ...flags, shutdown: true }, state: 'shutdown', shutdownReason: 'crash' })]);
  assert.equal(xentopTable(now, undefined, { ...VIEW, repeatHeader: true }).split('\n').filter((l) => l === HEADER).length, 2);
  assert.match(xentopTable(now, undefined, VIEW), /\n {9}b -s-c--/);
  const summary = xentopSummary(now).split('\n');
  assert.match(summary[0] as string, /^xentop - \d\d:\d\d:\d\d   Xen 4\.17-dom0$/);
  assert.equal(summary[1], '2 domains: 1 running, 0 blocked, 0 paused, 0 crashed, 0 dying, 1 shutdown ');
  assert.equal(summary[2], 'Mem: 1048576k total, 524288k used, 524288k free    CPUs: 2 @ 2400MHz');
});
