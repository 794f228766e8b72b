/**
 * What the `xl psr-*` commands share. Xen's answers on a host without the feature (no Intel RDT,
 * or Xen not booted with `psr=`): the hypervisor says ENODEV to every PSR sysctl and domctl, and
 * xl prints libxl's lines (quoted below with their file:line of Xen's sources) or its own, and
 * exits with libxl's ERROR_FAIL (-3, status 253) or -1 (255).
 *
 * dom0 reads the host's features at run time (`HostInfo.psr`: resctrl when mounted, else the CPU
 * flags). A host that has the feature a command needs gets NOT_SUPPORTED: dom0 does not drive
 * resctrl (monitoring and allocation groups per domain) yet.
 */
import type { DomainInfo, HostInfo } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import { atoi, looseRange, splitStringList, trimC } from '../config/index.js';

/** xl's exit status when a command returns libxl's ERROR_FAIL (-3). */
export const EXIT_LIBXL_FAIL = 253;
/** xl's exit status when a command returns -1. */
export const EXIT_MINUS_ONE = 255;

/** libxl's line for a domctl on a domain the hypervisor does not have (ESRCH). */
export const PSR_NO_SUCH_DOMAIN = 'libxl: error: libxl_psr.c:46:libxl__psr_log_err_msg: invalid domain ID: No such process';

/** The PSR features as Xen names them in its messages. */
export type PsrFeature = 'CMT' | 'L3 CAT' | 'L2 CAT' | 'MBA';

/**
 * Fails with NOT_SUPPORTED when the host has `feature`: it is there, but dom0 cannot use it yet.
 * Returns when it lacks it (then the command answers as Xen does without it).
 */
export function requirePsrAbsent(host: HostInfo, feature: PsrFeature): void {
  const has = { 'CMT': host.psr.cmt, 'L3 CAT': host.psr.l3Cat, 'L2 CAT': host.psr.l2Cat, 'MBA': host.psr.mba }[feature];
  if (!has) return;
  throw new ToolstackError('NOT_SUPPORTED', `This host has Intel RDT ${feature} (found in ${host.psr.source === 'resctrl' ? 'the mounted resctrl' : '/proc/cpuinfo'}), which dom0 does not drive yet`, {
    hint: 'dom0 answers psr-* only as Xen does on hosts without the feature; resctrl support is still to be built',
  });
}

/** The CAT level of `-l` (`atoi`, 3 when absent), checked as xl does: `Input lvl %d is wrong` (exit 1). */
export function catLevel(arg: string | undefined): 2 | 3 {
  const lvl = arg === undefined ? 3 : atoi(arg);
  if (lvl === 2 || lvl === 3) return lvl;
  throw new ToolstackError('USAGE', `Input lvl ${lvl} is wrong`, { lines: [`Input lvl ${lvl} is wrong`], hint: 'the cache level (-l) is 2 or 3' });
}

/**
 * The sockets a `-s` set acts on, ascending, as libxl_psr_set_val walks them. Each `-s` value is
 * trimmed, split at commas and each item read as xl's `parse_range` (its errors ignored, as xl
 * ignores them: no digits reads as 0) into a socket bitmap of libxl's size (the host's sockets
 * rounded up to a byte; bits past it dropped). An empty bitmap is every socket; sockets the host
 * lacks end the walk.
 */
export function psrTargetSockets(host: HostInfo, socketArgs: readonly string[]): number[] {
  const nrSockets = new Set(host.facts.cpus.map((c) => c.socket)).size;
  const bits = Math.ceil(nrSockets / 8) * 8;
  const map = new Set<number>();
  for (const arg of socketArgs) {
    for (const item of splitStringList(trimC(arg), ',')) {
      const [a, b] = looseRange(item);
      for (let s = a; s <= Math.min(b, bits - 1); s++) map.add(s);
    }
  }
  const all = Array.from({ length: nrSockets }, (_, i) => i);
  return map.size === 0 ? all : all.filter((s) => map.has(s));
}

/**
 * The lines libxl logs when it sets a per-socket PSR value (`psr-cat-set`, `psr-mba-set`) on a
 * host without the feature: one per socket, the hypervisor's ESRCH when `domain` does not exist,
 * else ENODEV in the feature's words. None (xl exits 0) when no target socket exists.
 */
export function psrSetLines(sockets: readonly number[], domain: DomainInfo | undefined, feature: 'L3 CAT' | 'CDP' | 'L2 CAT' | 'MBA'): string[] {
  const line = domain === undefined ? PSR_NO_SUCH_DOMAIN : `libxl: error: libxl_psr.c:123:libxl__psr_alloc_log_err_msg: ${feature}: is not supported in this system`;
  return sockets.map(() => line);
}

/** xl's answer when `psr-cat-show`/`psr-mba-show` cannot read the feature's hardware info. */
export function psrNoInfo(what: string): ToolstackError {
  return new ToolstackError('NOT_SUPPORTED', `Cannot show ${what}: this host has no Intel RDT`, { lines: ['Failed to get info'], exitCode: EXIT_LIBXL_FAIL });
}
