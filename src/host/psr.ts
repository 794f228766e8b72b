import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The host's Platform Shared Resource features (Intel RDT, AMD PQoS) as Linux offers them, in
 * Xen's terms: CMT (L3 cache occupancy monitoring), L3 and L2 CAT (cache allocation), MBA
 * (memory bandwidth allocation). `source` says where they were read: the `info` directory of a
 * mounted resctrl file system (what the kernel enabled), else the CPU's flags in /proc/cpuinfo
 * (what the hardware has; resctrl would have to be mounted to use them), else neither.
 */
export interface PsrFeatures {
  readonly cmt: boolean;
  readonly l3Cat: boolean;
  readonly l2Cat: boolean;
  readonly mba: boolean;
  readonly source: 'resctrl' | 'cpuinfo' | 'none';
}

/** The one run-time detection of PSR features: resctrl when mounted, else the CPU flags. */
export function readPsrFeatures(): PsrFeatures {
  const mount = resctrlMount(readFileSync('/proc/mounts', 'utf8'));
  if (mount !== undefined) return psrFromResctrl(mount);
  const flags = psrFromCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  return flags.cmt || flags.l3Cat || flags.l2Cat || flags.mba ? flags : { ...flags, source: 'none' };
}

/** Where /proc/mounts has a resctrl file system mounted (the first), if anywhere. */
export function resctrlMount(mounts: string): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'resctrl' && dir !== undefined) return dir.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  }
  return undefined;
}

/**
 * The features a mounted resctrl enabled: `info/L3` (or `L3CODE`/`L3DATA` with CDP), `info/L2`
 * (or its CDP pair), `info/MB`, and `llc_occupancy` among `info/L3_MON/mon_features`.
 */
export function psrFromResctrl(dir: string): PsrFeatures {
  const info = (name: string): boolean => existsSync(join(dir, 'info', name));
  let monFeatures = '';
  try {
    monFeatures = readFileSync(join(dir, 'info', 'L3_MON', 'mon_features'), 'utf8');
  } catch {
    // no L3 monitoring
  }
  return {
    cmt: monFeatures.split('\n').includes('llc_occupancy'),
    l3Cat: info('L3') || info('L3CODE'),
    l2Cat: info('L2') || info('L2CODE'),
    mba: info('MB'),
    source: 'resctrl',
  };
}

/** The features the CPU flags of the first processor in /proc/cpuinfo announce. */
export function psrFromCpuinfo(cpuinfo: string): PsrFeatures {
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/));
  return { cmt: flags.has('cqm_occup_llc'), l3Cat: flags.has('cat_l3'), l2Cat: flags.has('cat_l2'), mba: flags.has('mba'), source: 'cpuinfo' };
}
