/** The parts of a DomainConfig the argv builder reads, with libxl's defaults filled in. */
import { BugError } from '../../common/index.js';
import type { DomainConfig, GuestType } from '../../config/index.js';

type BuildInfo = NonNullable<DomainConfig['b_info']>;
export type HvmInfo = NonNullable<NonNullable<BuildInfo['u']>['hvm']>;

export interface Guest {
  readonly config: DomainConfig;
  readonly type: GuestType;
  readonly name: string;
  readonly b: BuildInfo;
  /** `b_info.u.hvm` for HVM guests, empty otherwise. */
  readonly hvm: HvmInfo;
}

export function guestOf(config: DomainConfig): Guest {
  const name = config.c_info?.name;
  if (name === undefined) throw new BugError('argv: the config has no name (resolveDomainConfig sets it)');
  const b = config.b_info ?? {};
  const type = config.c_info?.type ?? 'pv';
  return { config, type, name, b, hvm: type === 'hvm' ? (b.u?.hvm ?? {}) : {} };
}

/** A device's devid; libxl's -1 ("pick one") is its index in the list, as xl gives config-file devices. */
export function devidOf(d: { readonly devid?: number }, index: number): number {
  return d.devid !== undefined && d.devid >= 0 ? d.devid : index;
}

/** An IDL integer as a number; libxl's "unset" markers (all-ones MemKB, beyond 2^53) read as undefined. */
export function num(v: number | bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  return v;
}
