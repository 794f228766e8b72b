import type { DomainConfig } from '../config/index.js';
import type { ConsoleKind } from '../qemu/index.js';
import type { DomainSched } from './sched.js';
import type { DomainState, ShutdownReason } from './state.js';

/** The `source` of a domain recovered without its record (its QEMU found running, its config unknown). */
export const RECOVERED_SOURCE = 'a recovered domain';

/**
 * Everything dom0d keeps about one domain, persisted as `STATE_DIR/domains/<domid>.json` so a
 * restarted dom0d re-adopts the domain (same domid, name, uuid). Records are immutable values:
 * the registry replaces a record on every change.
 */
export interface DomainRecord {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly state: DomainState;
  /** Why the guest stopped, while `state` is `shutdown`; else null. */
  readonly shutdownReason: ShutdownReason | null;
  /**
   * The domain's config as libxl stores it (`libxl_domain_config`, libxl's defaults applied,
   * `c_info.name`/`uuid` kept equal to the record's): what the machine is built and rebuilt
   * from, what xenstore, `xl list -l` and the on_* policies read.
   */
  readonly config: DomainConfig;
  /** `xl create -e`: no monitor, so a guest shutdown of any kind only leaves the domain shut down. */
  readonly noMonitor: boolean;
  /** Where the config came from (xl's config file), for messages. */
  readonly source: string;
  /** The config's text as its creator read it, when one was given (a restart keeps it). */
  readonly sourceText?: string;
  /** The domain's QEMU process; null before it is spawned (or for a record without one). */
  readonly qemuPid: number | null;
  /** The QEMU's QMP socket; null before it is spawned. */
  readonly qmpSocket: string | null;
  /** Where its VNC server listens (read back from QEMU at start); null without one. */
  readonly vnc: { readonly host: string; readonly port: number } | null;
  /** Every console chardev of the running machine ([] before it is spawned). */
  readonly consoles: readonly DomainConsole[];
  /** When the guest was started (ms since the epoch); null while it is being created. */
  readonly startTime: number | null;
  /** When the record was made (ms since the epoch). */
  readonly createdAt: number;
  /** Its CPU pool and scheduler parameters (what `xl sched-*` and `cpupool-migrate` set). */
  readonly sched: DomainSched;
  /**
   * `xl config-update`'s config (Xen's `xl` userdata): what the domain's next restart is built
   * from instead of `config`, then dropped. Absent when none is pending.
   */
  readonly updatedConfig?: DomainConfig;
  /**
   * Made by an incoming migration (`NAME--incoming`) and not yet renamed by its receiving xl:
   * the stream it waits for or the handshake after it lives in that xl's connection, which a
   * dom0d restart ends, so a restarted dom0d destroys it (its sender resumes its own copy).
   */
  readonly arriving?: true;
  /**
   * The config a device attach or detach in progress leads to (the devices being attached
   * added, those being detached taken out), saved before the machine is touched and dropped with
   * the change's end: a dom0d killed meanwhile finishes it at re-adoption (a device being attached
   * that the machine and xenstore have in full is kept, any other undone; one being detached that
   * the machine has let go is released, one the guest still holds stays, its release awaited),
   * so no device is left half-attached and unknown to the config, or gone and still in it.
   */
  readonly attaching?: DomainConfig;
  /**
   * Devices a forced detach (`xl block-detach -f`, ...) took out of the config while the guest
   * still held them: QEMU keeps each (and its image open) until the guest lets go. Counted as the
   * domain's for the checks of other attaches and domains (an image in use, a vdev taken), and
   * dropped as the guest releases each.
   */
  readonly lingering?: DomainConfig;
}

/**
 * One console chardev of a domain's QEMU (the argv builder's `ConsoleRequirement`) and where it
 * is: the Unix socket QEMU serves it on (keystrokes in, output out; dom0d is its one client),
 * `feed`, the file QEMU appends every byte of its output to (fresh at each start of the
 * machine), and `tty`, the Unix socket dom0d serves it to any number of outside clients on
 * (replay, then live output; what they send is typed), named by xenstore's `console/tty`.
 */
export interface DomainConsole {
  /** The chardev id (`console0`, `serial<N>`, `channel<devid>`). */
  readonly id: string;
  readonly kind: ConsoleKind;
  /** `pv`: 0 (hvc0); `serial`: the COM port index; `channel`: the channel's devid. */
  readonly index: number;
  /** A channel's name. */
  readonly name?: string;
  readonly socket: string;
  readonly feed: string;
  readonly tty: string;
}

/** The fields a caller may change through `DomainRegistry.update` (identity and state excluded). */
export type DomainRecordPatch = Partial<Pick<DomainRecord,
  'uuid' | 'config' | 'qemuPid' | 'qmpSocket' | 'vnc' | 'consoles' | 'startTime' | 'shutdownReason' | 'sched' | 'updatedConfig' | 'lingering'>>;

/** What a new domain starts from: its config (name and uuid in `c_info`); the registry assigns domid and state. */
export interface NewDomain {
  readonly config: DomainConfig;
  readonly noMonitor?: boolean;
  readonly source?: string;
  readonly sourceText?: string;
  /** Where it is scheduled and how (a restart keeps the old domain's); default: Pool-0, the defaults. */
  readonly sched?: DomainSched;
}

/**
 * A restart dom0d has promised (on_* `restart`, `rename-restart`, `coredump-restart`): persisted
 * before the old domain is destroyed, removed once the new domain's record exists, so a dom0d
 * killed in between finishes it when it starts again.
 */
export interface RestartIntent {
  /** What the new domain is created from (the old one's name, uuid and config). */
  readonly init: NewDomain;
  /** When to create it (ms since the epoch): the old domain's end plus the restart delay. */
  readonly at: number;
  /** The domid it replaces. */
  readonly from: number;
  /** `restart_rename`: the old domain is kept under another name; otherwise it is destroyed. */
  readonly keepOld: boolean;
}

/**
 * The configs whose devices a domain's machine may have: its config, and the devices a forced
 * detach took out of it that the guest has not released (`lingering`).
 */
export function machineConfigs(rec: Pick<DomainRecord, 'config' | 'lingering'>): DomainConfig[] {
  return rec.lingering === undefined ? [rec.config] : [rec.config, rec.lingering];
}
