import { readFileSync } from 'node:fs';
import type { LibxlJsonObject } from '../config/index.js';
import type { DomainRecord } from '../domain/index.js';
import type { ConsoleEndpoint } from './source.js';

/** The kinds of console `xl console -t` names. */
export type ConsoleKind = 'pv' | 'serial' | 'vuart';

/**
 * The chardev ids of consoles (the argv builder's): `console0` = the PV console (hvc0),
 * `serial<N>` = COM port N, `channel<N>` = the pty channel with devid N.
 */
const CONSOLE_ID = /^(?:console0|serial\d+|channel\d+)$/;

/** The console chardev ids among a record's sockets, in a stable order. */
export function consoleIds(record: Pick<DomainRecord, 'sockets'>): string[] {
  return Object.keys(record.sockets).filter((k) => CONSOLE_ID.test(k)).sort();
}

/** libxl's primary console: HVM → serial 0, PV and PVH → pv 0. */
export function primaryConsole(config: LibxlJsonObject): { readonly kind: ConsoleKind; readonly num: number } {
  const cInfo = config.c_info;
  const type = typeof cInfo === 'object' && cInfo !== null && !Array.isArray(cInfo) ? (cInfo as LibxlJsonObject).type : undefined;
  return type === 'hvm' ? { kind: 'serial', num: 0 } : { kind: 'pv', num: 0 };
}

/**
 * The chardev id of console `num` of `kind`, as xenconsole finds a tty: serial N is COM N (a
 * missing serial falls back to the PV console of that number, as xenconsole does); pv 0 is
 * hvc0 and pv N (N ≥ 1) the channel with devid N-1 (libxl numbers channel consoles from 1).
 * Undefined when the domain has no such console; `vuart` (Arm) never exists here.
 */
export function consoleIdFor(record: Pick<DomainRecord, 'sockets'>, kind: ConsoleKind, num: number): string | undefined {
  const has = (id: string): boolean => id in record.sockets && CONSOLE_ID.test(id);
  const pv = num === 0 ? 'console0' : `channel${num - 1}`;
  if (kind === 'serial') return has(`serial${num}`) ? `serial${num}` : has(pv) ? pv : undefined;
  if (kind === 'pv') return has(pv) ? pv : undefined;
  return undefined;
}

/** The kind and number `xl console` would name chardev `id` by. */
export function consoleKindOf(id: string): { readonly kind: ConsoleKind; readonly num: number } {
  if (id.startsWith('serial')) return { kind: 'serial', num: Number(id.slice(6)) };
  if (id.startsWith('channel')) return { kind: 'pv', num: Number(id.slice(7)) + 1 };
  return { kind: 'pv', num: 0 };
}

/**
 * Where console `id` of a running domain is: the socket from the record, and the log file QEMU
 * was started with (`logfile=` of the `-chardev` whose `id=` matches), read from the process's
 * command line, which is the one authority on it for a QEMU dom0d may have re-adopted.
 */
export function consoleEndpoint(record: Pick<DomainRecord, 'sockets' | 'qemuPid'>, id: string): ConsoleEndpoint | undefined {
  const socket = record.sockets[id];
  if (socket === undefined) return undefined;
  const logFile = record.qemuPid === null ? undefined : chardevLogFile(readCmdline(record.qemuPid), id);
  return logFile === undefined ? { socket } : { socket, logFile };
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The `logfile=` of `-chardev ...,id=<id>,...` in an argv (QEMU's `,,` escapes a comma). */
export function chardevLogFile(argv: readonly string[], id: string): string | undefined {
  for (let i = 0; i + 1 < argv.length; i++) {
    if (argv[i] !== '-chardev') continue;
    const opts = splitQemuOpts(argv[i + 1] as string);
    if (opts.get('id') === id) return opts.get('logfile');
  }
  return undefined;
}

function splitQemuOpts(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === ',' && s[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq > 0) out.set(p.slice(0, eq), p.slice(eq + 1));
  }
  return out;
}
