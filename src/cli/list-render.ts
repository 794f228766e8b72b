import type { DomainInfo } from '../api/index.js';
import { SHUTDOWN_REASONS } from '../api/index.js';

/** The columns `xl list` adds on request. */
export interface ListOptions {
  readonly verbose: boolean;
  readonly context: boolean;
  readonly cpupool: boolean;
  readonly numa: boolean;
  /** `xl claims`: the `Claimed` column (MiB of outstanding claims; dom0 makes none). */
  readonly claim?: boolean;
}

/** Xen's `list_domains` table, byte for byte (TABs in the header, `%-40s %5d %5lu %5d ...`). */
export function renderList(domains: readonly DomainInfo[], o: ListOptions): string {
  let out = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';
  if (o.verbose) out += '   UUID                            Reason-Code\tSecurity Label';
  if (o.context && !o.verbose) out += '   Security Label';
  if (o.claim === true) out += '  Claimed';
  if (o.cpupool) out += '         Cpupool';
  if (o.numa) out += ' NODE Affinity';
  out += '\n';
  for (const d of domains) {
    const code = d.shutdownReason === null ? 0 : SHUTDOWN_REASONS.indexOf(d.shutdownReason);
    const f = d.flags;
    const letters = (f.running ? 'r' : '-') + (f.blocked ? 'b' : '-') + (f.paused ? 'p' : '-') +
      (f.shutdown ? 's' : '-') + (f.shutdown ? ('-rscwS'[code] ?? '?') : '-') + (f.dying ? 'd' : '-');
    const cpuSec = Math.fround(d.cpuTimeNs) / 1e9;
    out += `${d.name.padEnd(40)} ${pad(d.domid, 5)} ${pad(Math.floor(d.memKiB / 1024), 5)} ${pad(d.vcpus, 5)}     ${letters}  ${printfFixed(cpuSec, 1).padStart(8)}`;
    if (o.verbose) out += ` ${d.uuid} ${f.shutdown ? code.toString(16).padStart(8) : '-'.padStart(8)}`;
    if (o.claim === true) out += ` ${pad(0, 5)}`;
    if (o.verbose || o.context) out += ` ${'-'.padStart(16)}`;
    if (o.cpupool) out += d.cpupool.padStart(16);
    if (o.numa) out += ' all';
    out += '\n';
  }
  return out;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}

/** printf's `%.Nf`: like toFixed, but an exact binary tie rounds to even as glibc does. */
export function printfFixed(x: number, digits: number): string {
  const scale = 10 ** digits;
  const y = x * scale;
  if (!Number.isInteger(y) && Number.isInteger(y * 2) && y / scale === x) {
    const down = Math.floor(y);
    return ((down % 2 === 0 ? down : down + 1) / scale).toFixed(digits);
  }
  return x.toFixed(digits);
}
