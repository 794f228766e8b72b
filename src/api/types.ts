import type { Dom0Paths } from '../common/index.js';
import type { LibxlJsonObject } from '../config/index.js';
import type { DomainLaunch, DomainState, ShutdownReason, XenStateFlags } from '../domain/index.js';

export type { DomainLaunch, DomainState, ShutdownReason, XenStateFlags } from '../domain/index.js';

/**
 * Names a domain as xl's `find_domain` does: all decimal digits is a domid, anything else an
 * exact name. `0` and `Domain-0` are the host.
 */
export type DomainRef = string;

/** One row of `xl list` (libxl's dominfo). Domain-0 is the host: domid 0, state `running`. */
export interface DomainInfo {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly state: DomainState;
  /** The `r b p s d` letters of `xl list`. */
  readonly flags: XenStateFlags;
  /** Set while `state` is `shutdown`; its index in SHUTDOWN_REASONS is Xen's reason code. */
  readonly shutdownReason: ShutdownReason | null;
  /** Current memory, KiB. */
  readonly memKiB: number;
  /** Online vCPUs. */
  readonly vcpus: number;
  /** CPU time used, ns. */
  readonly cpuTimeNs: number;
  /** When the guest started (ms since the epoch); null while it is being created. */
  readonly startTime: number | null;
  /** Seconds since the guest started (Domain-0: since the host booted); null while being created. */
  readonly uptimeSec: number | null;
}

/** One element of `xl list -l`: the stored config of a domain. */
export interface DomainConfigEntry {
  readonly domid: number;
  readonly config: LibxlJsonObject;
}

/** The host (Domain-0), from /proc. */
export interface HostInfo {
  readonly memKiB: number;
  readonly cpus: number;
  readonly cpuTimeNs: number;
  readonly uptimeSec: number;
  /** The accelerator new domains get (xl.conf `accel=`, probed once), when dom0d runs QEMU. */
  readonly accel?: { readonly accel: 'kvm' | 'tcg'; readonly source: string; readonly reason: string };
}

/** Who is answering: the dom0d process and the directories it serves. */
export interface DaemonInfo {
  readonly pid: number;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly paths: Dom0Paths;
  readonly domains: number;
}

export interface DomainRefRequest {
  readonly ref: DomainRef;
}

/**
 * Create a domain from a resolved config (`libxl_domain_config` JSON, as `xl -N create` prints).
 * `launch` is what dom0d builds (and rebuilds at each restart) the machine from: the parsed
 * xl.cfg and the directory relative paths are taken against. Without it the domain has no machine.
 */
export interface CreateDomainRequest {
  readonly config: LibxlJsonObject;
  /** Leave it paused after creation (`xl create -p`). */
  readonly paused?: boolean;
  readonly launch?: DomainLaunch;
}

export interface DestroyDomainRequest extends DomainRefRequest {
  /** `xl destroy -f`: required to even try domain 0. */
  readonly force?: boolean;
}

export interface ShutdownDomainRequest extends DomainRefRequest {
  /** `-F`: fall back to the ACPI event when the guest has no PV control. */
  readonly fallback?: boolean;
}

export interface RenameDomainRequest extends DomainRefRequest {
  readonly name: string;
}

export type ConsoleType = 'pv' | 'serial' | 'vuart';

export interface ConsoleAttachRequest extends DomainRefRequest {
  readonly type?: ConsoleType;
  readonly num?: number;
}

/** Where to connect to a domain's console: a unix socket carrying raw bytes, the ring's replay first. */
export interface ConsoleAttachment {
  readonly domid: number;
  readonly name: string;
  readonly type: ConsoleType;
  readonly num: number;
  readonly socket: string;
}

/** What `destroyDomain` destroyed. */
export interface DomainIdentity {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
}
