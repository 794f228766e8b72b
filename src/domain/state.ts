import { ToolstackError } from '../common/index.js';

/**
 * A domain's lifecycle. Every change goes through `assertTransition`; each API action names the
 * states it may start from (`ACTION_STATES`).
 *
 * ```
 *   creating ──▶ running ◀──▶ paused
 *      │           │  ▲         │
 *      │           ▼  │         │
 *      │      shutting-down     │      (shutdown asked, guest not yet off)
 *      │           │            │
 *      │           ▼            │
 *      │        shutdown ◀──────┘      (guest off or crashed; record kept: on_* decides)
 *      │           │
 *      └────────▶ dying ──▶ destroyed  (QEMU being killed; record removed)
 * ```
 */
export const DOMAIN_STATES = ['creating', 'running', 'paused', 'shutting-down', 'shutdown', 'dying', 'destroyed'] as const;
export type DomainState = (typeof DOMAIN_STATES)[number];

const TRANSITIONS: { readonly [S in DomainState]: readonly DomainState[] } = {
  creating: ['running', 'paused', 'shutdown', 'dying'],
  running: ['paused', 'shutting-down', 'shutdown', 'dying'],
  paused: ['running', 'shutting-down', 'shutdown', 'dying'],
  'shutting-down': ['running', 'paused', 'shutdown', 'dying'],
  shutdown: ['running', 'dying'],
  dying: ['destroyed'],
  destroyed: [],
};

/**
 * Xen's shutdown reasons, in the order of their codes (`SHUTDOWN_*`: 0 poweroff ... 5 soft_reset);
 * the index is what `xl list -v` prints as Reason-Code.
 */
export const SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;
export type ShutdownReason = (typeof SHUTDOWN_REASONS)[number];

/** Thrown when a lifecycle change is not in the transition table. */
export class InvalidStateTransition extends ToolstackError {
  override readonly name: string = 'InvalidStateTransition';
  readonly from: DomainState;
  readonly to: DomainState;

  constructor(from: DomainState, to: DomainState, domain?: string) {
    super('DOMAIN_STATE', `Cannot change domain${domain === undefined ? '' : ` '${domain}'`} from ${from} to ${to}`);
    this.from = from;
    this.to = to;
  }
}

export function canTransition(from: DomainState, to: DomainState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws `InvalidStateTransition` unless the table allows `from` → `to`. */
export function assertTransition(from: DomainState, to: DomainState, domain?: string): void {
  if (!canTransition(from, to)) throw new InvalidStateTransition(from, to, domain);
}

/** The mutating operations of the API, each allowed only from the states listed. */
export const ACTION_STATES = {
  pause: ['running', 'shutting-down'],
  unpause: ['paused'],
  /** `xl suspend`: the guest stops in RAM, shut down with reason suspend; `xl resume` runs it on. */
  suspend: ['running', 'paused', 'shutting-down'],
  resume: ['shutdown'],
  shutdown: ['running', 'paused', 'shutting-down'],
  reboot: ['running', 'paused', 'shutting-down'],
  destroy: ['creating', 'running', 'paused', 'shutting-down', 'shutdown', 'dying'],
  rename: ['creating', 'running', 'paused', 'shutting-down', 'shutdown'],
  console: ['creating', 'running', 'paused', 'shutting-down', 'shutdown'],
  trigger: ['running', 'paused', 'shutting-down'],
  sysrq: ['running', 'paused', 'shutting-down'],
  /** `xl dump-core`, `xl qemu-monitor-command`: the machine must be there. */
  machine: ['running', 'paused', 'shutting-down', 'shutdown'],
  /** `xl save` (the guest is stopped while its state is written). */
  save: ['running', 'paused'],
  /** `xl mem-set` / `mem-max`. */
  memory: ['running', 'paused', 'shutting-down'],
  /** Devices added, removed, media changed (`block-attach`, `cd-insert`, ...): the machine must run. */
  hotplug: ['running', 'paused', 'shutting-down'],
  /** `xl vcpu-pin` / `vcpu-set`: the machine must run (a vCPU's affinity is its thread's). */
  vcpu: ['running', 'paused', 'shutting-down'],
  /** `xl config-update`: any domain that is not being made or unmade. */
  'config-update': ['running', 'paused', 'shutting-down', 'shutdown'],
  /** `xl sched-*` parameters, `xl cpupool-migrate`: any domain that is not being made or unmade. */
  sched: ['running', 'paused', 'shutting-down', 'shutdown'],
} as const satisfies Record<string, readonly DomainState[]>;
export type DomainAction = keyof typeof ACTION_STATES;

/** Throws a DOMAIN_STATE error when `action` may not start from `state`. */
export function assertActionAllowed(action: DomainAction, state: DomainState, domain: string): void {
  const allowed: readonly DomainState[] = ACTION_STATES[action];
  if (!allowed.includes(state)) {
    throw new ToolstackError('DOMAIN_STATE', `Cannot ${action} domain '${domain}': it is ${state}`, {
      hint: `'${action}' needs the domain to be ${allowed.join(' or ')}`,
    });
  }
}

/** The six state letters of `xl list` (`r b p s <reason> d`), as libxl's dominfo flags. */
export interface XenStateFlags {
  readonly running: boolean;
  readonly blocked: boolean;
  readonly paused: boolean;
  readonly shutdown: boolean;
  readonly dying: boolean;
}

/** How a state shows in Xen's dominfo flags (a domain being created is paused, as in Xen). */
export function xenFlags(state: DomainState): XenStateFlags {
  return {
    running: state === 'running' || state === 'shutting-down',
    blocked: false,
    paused: state === 'paused' || state === 'creating',
    shutdown: state === 'shutdown',
    dying: state === 'dying' || state === 'destroyed',
  };
}
