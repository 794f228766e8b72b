/**
 * Which console of a domain `xl console -t TYPE -n NUM` names, as xenconsole finds a tty.
 * xl's types: `pv` 0 is the PV console (hvc0), `pv` N (N ≥ 1) the channel with devid N-1 (libxl
 * numbers channel consoles from 1); `serial` N is COM port N and, when the domain has none, the
 * PV console of that number (xenconsole falls back so); `vuart` exists on Arm only.
 */
import type { DomainConsole, DomainRecord } from '../domain/index.js';

/** The console types `xl console -t` takes. */
export type ConsoleType = 'pv' | 'serial' | 'vuart';

/** A console `xl console` can attach to: every kind but the debug port (that is `xl dmesg`'s). */
export type XlConsole = DomainConsole & { readonly kind: 'pv' | 'serial' | 'channel' };

/** The consoles of `record` that xl names, in the record's order. */
export function xlConsoles(record: Pick<DomainRecord, 'consoles'>): XlConsole[] {
  return record.consoles.filter((c): c is XlConsole => c.kind !== 'debug');
}

/** How xl names `c`: its `-t` type and `-n` number. */
export function consoleName(c: Pick<XlConsole, 'kind' | 'index'>): { readonly type: ConsoleType; readonly num: number } {
  if (c.kind === 'serial') return { type: 'serial', num: c.index };
  return { type: 'pv', num: c.kind === 'channel' ? c.index + 1 : 0 };
}

/** libxl's primary console of a guest type: HVM → serial 0, PV and PVH → pv 0. */
export function primaryConsoleName(guestType: string | undefined): { readonly type: ConsoleType; readonly num: number } {
  return guestType === 'hvm' ? { type: 'serial', num: 0 } : { type: 'pv', num: 0 };
}

/** The console of `record` that xl's `type`/`num` name; undefined when it has none. */
export function findConsole(record: Pick<DomainRecord, 'consoles'>, type: ConsoleType, num: number): XlConsole | undefined {
  const consoles = xlConsoles(record);
  const pv = consoles.find((c) => {
    const n = consoleName(c);
    return n.type === 'pv' && n.num === num;
  });
  if (type === 'pv') return pv;
  if (type === 'serial') return consoles.find((c) => c.kind === 'serial' && c.index === num) ?? pv;
  return undefined;
}
