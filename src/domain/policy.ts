import type { DomainConfig } from '../config/index.js';
import type { ShutdownReason } from './state.js';

/**
 * What happens to a domain whose guest stopped (xl's `handle_domain_death`, xl-behaviour.md §2):
 * the stored config's `on_poweroff` / `on_reboot` / `on_crash` / `on_watchdog` /
 * `on_soft_reset` picks one of libxl's actions (JSON spelling: libxl's enum names, so the cfg's
 * `rename-restart` is `restart_rename`).
 */
export const POLICY_ACTIONS = ['destroy', 'restart', 'restart_rename', 'preserve', 'coredump_destroy', 'coredump_restart', 'soft_reset'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/**
 * The action for `reason`, or undefined for `suspend` (xl keeps waiting). An unset action is
 * libxl's enum default, `destroy` (xl itself writes `restart` for on_reboot and `soft-reset` for
 * on_soft_reset when the cfg names none, so a config from xl always says).
 */
export function policyAction(config: DomainConfig, reason: ShutdownReason): PolicyAction | undefined {
  if (reason === 'suspend') return undefined;
  return config[`on_${reason}`] ?? 'destroy';
}

/** The cfg-file spelling xl logs (`coredump-destroy`, `rename-restart`). */
export function policyActionName(action: PolicyAction): string {
  return action === 'restart_rename' ? 'rename-restart' : action.replace('_', '-');
}

/**
 * rename-restart's name for the preserved domain: `<name>-<UTC %Y%m%dT%H%MZ>`, the name cut
 * (at a character boundary) so that the whole stays within `maxBytes`.
 */
export function preservedName(name: string, now: Date, maxBytes: number): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `-${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}T${p(now.getUTCHours())}${p(now.getUTCMinutes())}Z`;
  let base = name;
  while (Buffer.byteLength(base + stamp) > maxBytes) base = [...base].slice(0, -1).join('');
  return base + stamp;
}
