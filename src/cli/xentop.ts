/**
 * `xentop`'s screens and batch lines from dom0's samples (`domainStats`), in the layout of Xen's
 * xentop: the summary (interactive only), the table header and one row per domain, and with
 * `-v`/`-n`/`-x` a line per domain of vCPU times, per vif and per disk. Field widths, the
 * widening of the counter columns to their largest value, the state letters (`dsbcpr`) and the
 * percentages (CPU over the time between two samples, memory over the host's total) are Xen's.
 * dom0 has no XSM: SSID is 0; there are no out-of-request counts: VBD_OO is 0.
 */
import type { DomainStats, StatsSample } from '../api/index.js';
import { XEN_VERSION } from './xen-version.js';

export interface XentopView {
  readonly vcpus: boolean;
  readonly networks: boolean;
  readonly vbds: boolean;
  readonly repeatHeader: boolean;
  readonly fullName: boolean;
  readonly dom0First: boolean;
  /** Index into XENTOP_FIELDS of the sort column. */
  readonly sortField: number;
}

/** A domain's figures for one row, from this sample and the one before. */
interface Row {
  readonly d: DomainStats;
  readonly cpuPct: number;
  readonly memPct: number;
  readonly netTxKiB: number;
  readonly netRxKiB: number;
  readonly vbd: { readonly oo: number; readonly rd: number; readonly wr: number; readonly rsect: number; readonly wsect: number };
}

interface Field {
  readonly header: string;
  readonly width: number;
  readonly cell: (r: Row, width: number, total: number) => string;
  /** Larger first unless noted, as xentop sorts (the name: alphabetical, case-insensitive). */
  readonly key: (r: Row) => number | string;
  /** Widened to the digits of its largest value (+1), as xentop's adjust_field_widths. */
  readonly grows?: (r: Row) => number;
}

const num = (v: number, w: number): string => String(Math.floor(v)).padStart(w);
const fix1 = (v: number, w: number): string => v.toFixed(1).padStart(w);
const STATE_LETTERS: ReadonlyArray<readonly [string, (d: DomainStats) => boolean]> = [
  ['d', (d) => d.flags.dying],
  ['s', (d) => d.flags.shutdown],
  ['b', (d) => d.flags.blocked],
  ['c', (d) => d.flags.shutdown && d.shutdownReason === 'crash'],
  ['p', (d) => d.flags.paused],
  ['r', (d) => d.flags.running],
];

export const XENTOP_FIELDS: readonly Field[] = [
  { header: 'NAME', width: 10, cell: (r, w) => r.d.name.slice(0, w).padStart(w), key: (r) => r.d.name.toLowerCase() },
  { header: 'STATE', width: 6, cell: (r) => STATE_LETTERS.map(([c, on]) => (on(r.d) ? c : '-')).join(''), key: (r) => STATE_LETTERS.findIndex(([, on]) => on(r.d)) },
  { header: 'CPU(sec)', width: 10, cell: (r, w) => num(r.d.cpuTimeNs / 1e9, w), key: (r) => -r.d.cpuTimeNs },
  { header: 'CPU(%)', width: 6, cell: (r, w) => fix1(r.cpuPct, w), key: (r) => -r.cpuPct },
  { header: 'MEM(k)', width: 10, cell: (r, w) => num(r.d.memKiB, w), key: (r) => -r.d.memKiB },
  { header: 'MEM(%)', width: 6, cell: (r, w) => fix1(r.memPct, w), key: (r) => -r.d.memKiB },
  {
    header: 'MAXMEM(k)', width: 10, cell: (r, w) => (r.d.maxMemKiB === null ? 'no limit'.padStart(w) : num(r.d.maxMemKiB, w)),
    key: (r) => -(r.d.maxMemKiB ?? Number.MAX_SAFE_INTEGER),
  },
  {
    header: 'MAXMEM(%)', width: 9, cell: (r, w, total) => (r.d.maxMemKiB === null ? 'n/a'.padStart(w) : fix1((r.d.maxMemKiB / total) * 100, w)),
    key: (r) => -(r.d.maxMemKiB ?? Number.MAX_SAFE_INTEGER),
  },
  { header: 'VCPUS', width: 5, cell: (r, w) => num(r.d.vcpus, w), key: (r) => -r.d.vcpus },
  { header: 'NETS', width: 4, cell: (r, w) => num(r.d.nets.length, w), key: (r) => -r.d.nets.length },
  { header: 'NETTX(k)', width: 8, cell: (r, w) => num(r.netTxKiB, w), key: (r) => -r.netTxKiB, grows: (r) => r.netTxKiB },
  { header: 'NETRX(k)', width: 8, cell: (r, w) => num(r.netRxKiB, w), key: (r) => -r.netRxKiB, grows: (r) => r.netRxKiB },
  { header: 'VBDS', width: 4, cell: (r, w) => num(r.d.vbds.length, w), key: (r) => -r.d.vbds.length },
  { header: 'VBD_OO', width: 8, cell: (r, w) => num(r.vbd.oo, w), key: (r) => -r.vbd.oo },
  { header: 'VBD_RD', width: 8, cell: (r, w) => num(r.vbd.rd, w), key: (r) => -r.vbd.rd, grows: (r) => r.vbd.rd },
  { header: 'VBD_WR', width: 8, cell: (r, w) => num(r.vbd.wr, w), key: (r) => -r.vbd.wr, grows: (r) => r.vbd.wr },
  { header: 'VBD_RSECT', width: 10, cell: (r, w) => num(r.vbd.rsect, w), key: (r) => -r.vbd.rsect, grows: (r) => r.vbd.rsect },
  { header: 'VBD_WSECT', width: 10, cell: (r, w) => num(r.vbd.wsect, w), key: (r) => -r.vbd.wsect, grows: (r) => r.vbd.wsect },
  { header: 'SSID', width: 4, cell: (r, w) => num(0, w), key: () => 0 },
];

function rowsOf(cur: StatsSample, prev: StatsSample | undefined): Row[] {
  return cur.domains.map((d): Row => {
    const before = prev?.domains.find((p) => p.domid === d.domid);
    const us = prev === undefined ? 0 : (cur.timeMs - prev.timeMs) * 1000;
    const sum = (f: (x: DomainStats['vbds'][number]) => number): number => d.vbds.reduce((s, v) => s + f(v), 0);
    return {
      d,
      cpuPct: before === undefined || us <= 0 ? 0 : ((d.cpuTimeNs - before.cpuTimeNs) / 10) / us,
      memPct: (d.memKiB / cur.totalKiB) * 100,
      netTxKiB: Math.floor(d.nets.reduce((s, n) => s + n.txBytes, 0) / 1024),
      netRxKiB: Math.floor(d.nets.reduce((s, n) => s + n.rxBytes, 0) / 1024),
      vbd: { oo: 0, rd: sum((v) => v.readRequests), wr: sum((v) => v.writeRequests), rsect: sum((v) => v.readSectors), wsect: sum((v) => v.writeSectors) },
    };
  });
}

function sorted(rows: Row[], view: XentopView): Row[] {
  const field = XENTOP_FIELDS[view.sortField] ?? XENTOP_FIELDS[0];
  if (field === undefined) return rows;
  const cmp = (a: Row, b: Row): number => {
    const x = field.key(a);
    const y = field.key(b);
    return typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y, 'en') : Number(x) - Number(y);
  };
  if (!view.dom0First) return [...rows].sort(cmp);
  const dom0 = rows.filter((r) => r.d.domid === 0);
  return [...dom0, ...rows.filter((r) => r.d.domid !== 0).sort(cmp)];
}

/** The summary lines above the table (interactive mode). */
export function xentopSummary(cur: StatsSample): string {
  const now = new Date(cur.timeMs);
  const hms = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  // Each domain counts once, under the first of these it is (xentop's order; a crashed domain is
  // also shut down, so `crashed` stays 0 as in Xen's).
  const t = { running: 0, blocked: 0, paused: 0, crashed: 0, dying: 0, shutdown: 0 };
  for (const { flags: f } of cur.domains) {
    if (f.running) t.running++;
    else if (f.blocked) t.blocked++;
    else if (f.paused) t.paused++;
    else if (f.shutdown) t.shutdown++;
    else if (f.dying) t.dying++;
  }
  return `xentop - ${hms}   Xen ${XEN_VERSION}\n` +
    `${cur.domains.length} domains: ${t.running} running, ${t.blocked} blocked, ${t.paused} paused, ${t.crashed} crashed, ${t.dying} dying, ${t.shutdown} shutdown \n` +
    `Mem: ${cur.totalKiB}k total, ${cur.totalKiB - cur.freeKiB}k used, ${cur.freeKiB}k free    ` +
    `CPUs: ${cur.cpus} @ ${Math.floor(cur.cpuKhz / 1000)}MHz\n`;
}

/** The table (header, rows and the `-v -n -x` lines) for `cur`, CPU% against `prev`; `headerStyle` decorates the header line (reverse video on a terminal). */
export function xentopTable(cur: StatsSample, prev: StatsSample | undefined, view: XentopView, headerStyle = (line: string): string => line): string {
  const rows = sorted(rowsOf(cur, prev), view);
  const widths = XENTOP_FIELDS.map((f, i) => {
    let w = f.width;
    if (i === 0 && view.fullName) for (const r of rows) w = Math.max(w, r.d.name.length);
    if (f.grows !== undefined) for (const r of rows) w = Math.max(w, String(Math.floor((f.grows(r) ?? 0) + 1)).length);
    return w;
  });
  const header = `${headerStyle(XENTOP_FIELDS.map((f, i) => f.header.padStart(widths[i] as number)).join(' '))}\n`;
  let out = '';
  rows.forEach((r, n) => {
    if (n === 0 || view.repeatHeader) out += header;
    out += `${XENTOP_FIELDS.map((f, i) => f.cell(r, widths[i] as number, cur.totalKiB)).join(' ')}\n`;
    if (view.vcpus) out += vcpuLine(r.d);
    if (view.networks) out += r.d.nets.map((x, i) => `Net${i} RX: ${pad(x.rxBytes, 8)}bytes ${pad(x.rxPackets, 8)}pkts ${pad(x.rxErrors, 8)}err ${pad(x.rxDropped, 8)}drop  ` +
      `TX: ${pad(x.txBytes, 8)}bytes ${pad(x.txPackets, 8)}pkts ${pad(x.txErrors, 8)}err ${pad(x.txDropped, 8)}drop\n`).join('');
    if (view.vbds) {
      out += r.d.vbds.map((v) => {
        const major = (v.devid >> 8) & 0xfff;
        const minor = (v.devid & 0xff) | ((v.devid >> 12) & 0xfff00);
        return `VBD BlkBack ${pad(v.devid, 4)} [${major.toString(16).padStart(2)}:${minor.toString(16).padStart(2)}]  OO: ${pad(0, 8)}   RD: ${pad(v.readRequests, 8)}   ` +
          `WR: ${pad(v.writeRequests, 8)}   RSECT: ${pad(v.readSectors, 10)}   WSECT: ${pad(v.writeSectors, 10)}\n`;
      }).join('');
    }
  });
  return out;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w);
}

/** `VCPUs(sec): ` and each vCPU's seconds, five to a line. */
function vcpuLine(d: DomainStats): string {
  let s = 'VCPUs(sec): ';
  d.vcpuTimesNs.forEach((ns, i) => {
    if (i !== 0 && i % 5 === 0) s += '\n        ';
    s += ` ${String(i).padStart(2)}: ${pad(Math.floor(ns / 1e9), 10)}s`;
  });
  return `${s}\n`;
}

/** One sample as `--json` batch mode prints it: the table's figures, one object per domain. */
export function xentopJson(cur: StatsSample, prev: StatsSample | undefined): unknown {
  return {
    time: new Date(cur.timeMs).toISOString(),
    totalKiB: cur.totalKiB, freeKiB: cur.freeKiB, cpus: cur.cpus, cpuMhz: Math.floor(cur.cpuKhz / 1000),
    domains: rowsOf(cur, prev).map((r) => ({
      domid: r.d.domid, name: r.d.name, state: XENTOP_FIELDS[1]?.cell(r, 6, cur.totalKiB),
      cpuSec: Math.floor(r.d.cpuTimeNs / 1e9), cpuPct: Math.round(r.cpuPct * 10) / 10,
      memKiB: r.d.memKiB, maxMemKiB: r.d.maxMemKiB, vcpus: r.d.vcpus, vcpuTimesNs: r.d.vcpuTimesNs,
      netTxKiB: r.netTxKiB, netRxKiB: r.netRxKiB, nets: r.d.nets, vbds: r.d.vbds,
    })),
  };
}
