/**
 * Node permissions. A node has one or more entries `<letter><domid>` (`n` none, `r` read, `w`
 * write, `b` both). Entry 0 names the owner, who always has full access, and its letter is the
 * access of every domain not listed; entries 1.. grant access to one domain each (first match
 * wins). Privileged connections bypass all checks; a domain given a target by SET_TARGET acts as
 * its target too.
 */
import { XsFault } from './wire.js';

export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_OWNER = 4;
export const PERM_ALL = PERM_READ | PERM_WRITE | PERM_OWNER;

export type PermLetter = 'n' | 'r' | 'w' | 'b';

export interface Perm {
  readonly id: number;
  readonly perm: PermLetter;
}

export type Perms = readonly Perm[];

const BITS: Record<PermLetter, number> = { n: 0, r: PERM_READ, w: PERM_WRITE, b: PERM_READ | PERM_WRITE };

/** Who is asking: a domain, whether it is privileged, and the domain it acts for (SET_TARGET). */
export interface Accessor {
  readonly domid: number;
  readonly privileged: boolean;
  readonly target?: number | undefined;
}

/** The access bits (PERM_*) `who` has on a node with `perms` (C `perm_for_conn`). */
export function permFor(who: Accessor, perms: Perms): number {
  const owner = perms[0];
  if (owner === undefined) return who.privileged ? PERM_ALL : 0;
  if (who.privileged || owner.id === who.domid || (who.target !== undefined && owner.id === who.target)) {
    return PERM_ALL;
  }
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i]!;
    if (p.id === who.domid || (who.target !== undefined && p.id === who.target)) return BITS[p.perm];
  }
  return BITS[owner.perm];
}

/** `strtol(s, &end, 0)` over the whole string, as a uint32 (C assigns it to an unsigned int). */
function parseCInt(s: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const mag = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16)
    : body.length > 1 && body.startsWith('0') ? parseInt(body.slice(1), 8) : parseInt(body, 10);
  return (m[1] === '-' ? -mag : mag) >>> 0;
}

/** Parses one permission string (`n0`, `r5`, `b0x10`); EINVAL if malformed. */
export function parsePerm(s: string): Perm {
  const letter = s[0];
  if (letter !== 'n' && letter !== 'r' && letter !== 'w' && letter !== 'b') throw new XsFault('EINVAL');
  const id = parseCInt(s.slice(1));
  if (id === undefined) throw new XsFault('EINVAL');
  return { id, perm: letter };
}

export function formatPerm(p: Perm): string {
  return `${p.perm}${p.id}`;
}

export function formatPerms(perms: Perms): string[] {
  return perms.map(formatPerm);
}
