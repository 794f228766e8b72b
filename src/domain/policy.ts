import type { LibxlJsonObject } from '../config/index.js';
import type { ShutdownReason } from './state.js';

/**
 * What happens to a domain whose guest stopped (xl's `handle_domain_death`, xl-behaviour.md §2):
 * the stored config's `on_poweroff` / `on_reboot` / `on_crash` / `on_watchdog` /
 * `on_soft_reset` picks one of libxl's actions (JSON spelling: libxl's enum names, so the cfg's
 * `rename-restart` is `restart_rename`).
 */
export const POLICY_ACTIONS = ['destroy', 'restart', 'restart_rename', 'preserve', 'coredump_destroy', 'coredump_restart', 'soft_reset'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** libxl's defaults: the enum's init value `destroy`, except `on_reboot` (restart) and `on_soft_reset`. */
const DEFAULTS: Readonly<Record<ShutdownReason, PolicyAction | undefined>> = {
  poweroff: 'destroy',
  reboot: 'restart',
  suspend: undefined,
  crash: 'destroy',
  watchdog: 'destroy',
  soft_reset: 'soft_reset',
};

/**
 * The action for `reason`, or undefined for `suspend` (xl keeps waiting). An unknown value
 * destroys, as xl does for an unknown reason.
 */
export function policyAction(config: LibxlJsonObject, reason: ShutdownReason): PolicyAction | undefined {
  const def = DEFAULTS[reason];
  if (def === undefined) return undefined;
  const v = config[`on_${reason}`];
  if (v === undefined) return def;
  return (POLICY_ACTIONS as readonly unknown[]).includes(v) ? (v as PolicyAction) : 'destroy';
}

/** The cfg-file spelling xl logs (`coredump-destroy`, `rename-restart`). */
export function policyActionName(action: PolicyAction): string {
  return action === 'restart_rename' ? 'rename-restart' : action.replace('_', '-');
}

/** rename-restart's name for the preserved domain: `<name>-<UTC %Y%m%dT%H%MZ>`. */
export function preservedName(name: string, now: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${name}-${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}T${p(now.getUTCHours())}${p(now.getUTCMinutes())}Z`;
}
