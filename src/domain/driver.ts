import { ToolstackError } from '../common/index.js';
import { isPidAlive, killPid, processCpuTimeNs, waitForPidExit } from '../host/index.js';
import type { ReplacingFile } from '../host/index.js';
import type { DiskDevice, DomainConfig } from '../config/index.js';
import type { ImageChain, MachineLayout } from '../qemu/index.js';
import type { CheckedImage } from './disk-checks.js';
import type { DomainDevice } from './devices.js';
import type { DomainRecord, DomainRecordPatch } from './record.js';
import type { ShutdownReason } from './state.js';
import type { DeviceXenstoreInfo } from './xenstore-layout.js';

/**
 * How a driver reports a guest that stopped by itself (powered off, rebooted, crashed, watchdog,
 * or its machine died). It only queues work for the domain; it never acts in the caller.
 */
export type MachineEventSink = (domid: number, reason: ShutdownReason) => void;

/**
 * How a driver reports that the guest released a device after the detach that asked for it had
 * returned (it timed out, or was forced: `late`), or that the machine no longer has a device of
 * the config that no detach asked for (the guest ejected it itself: `ejected`): queued as the
 * domain's next job, which calls `releaseDevice` and drops the device from the record (an
 * `ejected` one only if the record still has that very device).
 */
export type DeviceEventSink = (domid: number, device: DomainDevice, how: 'late' | 'ejected') => void;

/**
 * A machine of this host that no record names (its record was lost or unreadable), as the
 * driver finds it from the machine itself and xenstore: enough to record and keep managing it.
 */
export interface OrphanMachine {
  readonly domid: number;
  readonly pid: number;
  /** From xenstore (`/local/domain/N/name`), when it says. */
  readonly name?: string;
  readonly uuid?: string;
  readonly type: 'pv' | 'pvh' | 'hvm';
  readonly memKiB: number;
  readonly vcpus: number;
  readonly paused: boolean;
  readonly qmpSocket: string;
  readonly consoles: DomainRecord['consoles'];
}

/** A vif's traffic as dom0's side of it (its tap) counts it. */
export interface NetStats {
  readonly devid: number;
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxErrors: number;
  readonly rxDropped: number;
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txErrors: number;
  readonly txDropped: number;
}

/** A disk's requests as QEMU counts them (`query-blockstats`); sectors of 512 bytes. */
export interface VbdStats {
  /** The vdev's number (libxl's devid). */
  readonly devid: number;
  readonly readRequests: number;
  readonly writeRequests: number;
  readonly readSectors: number;
  readonly writeSectors: number;
}

/** What a machine's counters say now (xentop's per-domain data). */
export interface MachineStats {
  /** CPU time of each vCPU thread, ns, in vCPU order. */
  readonly vcpuTimesNs: readonly number[];
  readonly nets: readonly NetStats[];
  readonly vbds: readonly VbdStats[];
}

/**
 * A hot-plugged disk's image chain as its check found it, with the images the check passed: the
 * driver refuses the disk when its QEMU does not hold them open once it opened it by name (a file
 * swapped in meanwhile), before the guest sees it (`refuseSwappedImage`).
 */
export interface CheckedChain extends ImageChain {
  readonly opened: readonly CheckedImage[];
}

/**
 * The checked chains of a medium change (see `DomainDriver.changeMedia`); the drive's own goes
 * back on a failure, and is not put back without one.
 */
export interface MediaChains {
  readonly medium?: CheckedChain | undefined;
  readonly drive?: CheckedChain | undefined;
}

/**
 * How a machine starts: fresh, or from a state stream: a save file's from byte `offset` for `xl
 * restore` (QEMU reads it as its stdin, opened by the driver), QEMU's `-incoming URI` (a socket
 * for `xl migrate-receive`); `what` names it in messages.
 */
export interface StartOptions {
  /** `migration`: the stream is a live migration's (not a save file's). */
  readonly incoming?: { readonly what: string; readonly migration?: boolean } & ({ readonly uri: string } | { readonly saveFile: string; readonly offset: number });
  /** The image chains `checkDisks` found, by vdev: what QEMU opens of each disk's header. */
  readonly diskChains?: Readonly<Record<string, ImageChain>>;
  /** With `incoming`: the machine whose state it is, as it was. */
  readonly layout?: MachineLayout;
}

/** One plugged vCPU of a machine, as the host schedules its thread. */
export interface MachineVcpu {
  readonly vcpu: number;
  /** The host CPU it last ran on. */
  readonly cpu: number;
  /** Its thread is running or runnable now (else it waits: the guest halted it, or the machine is stopped). */
  readonly runnable: boolean;
  readonly timeNs: number;
  /** Its thread's hard affinity: the host CPUs it may run on. */
  readonly hard: readonly number[];
}

/** What QEMU reports of a finished outgoing migration. */
/**
 * A machine's outgoing migration (or save) as its QEMU counts: `status` is QEMU's (`none` when it
 * never had one). Bytes are of guest RAM; `dirtyPagesPerSecond` the rate the guest dirties pages
 * that must be sent again (`pageBytes` each); `iterations` the passes over RAM;
 * `expectedDowntimeMs` QEMU's estimate of the stop-and-copy at the current rate.
 */
export interface MigrationSnapshot {
  readonly status: string;
  readonly transferredBytes: number;
  readonly remainingBytes: number;
  readonly totalBytes: number;
  readonly dirtyPagesPerSecond: number;
  readonly pageBytes: number;
  readonly iterations: number;
  readonly expectedDowntimeMs: number;
  readonly mbps: number;
}

export interface MigrationStats {
  readonly totalMs: number;
  /** How long the guest was stopped at the end. */
  readonly downtimeMs: number;
  readonly ramBytes: number;
}

/** Xen's triggers (`xl trigger`). */
export const TRIGGER_NAMES = ['nmi', 'reset', 'init', 'power', 'sleep', 's3resume'] as const;
export type TriggerName = (typeof TRIGGER_NAMES)[number];

/**
 * The machine behind a domain (one QEMU process). `DomainManager` calls a driver only inside the
 * domain's job, with the record as it stands; the driver never touches the registry itself, it
 * returns what must be persisted. A driver method that awaits QEMU must re-check that QEMU is
 * still alive afterwards and fail with a QEMU error naming the root cause if it is not.
 */
export interface DomainDriver {
  /**
   * Spawns the machine with its vCPUs stopped (state `creating`) and returns what to persist:
   * at least `qemuPid`, `qmpSocket` and `consoles`. On failure nothing may be left running.
   */
  start(record: DomainRecord, options?: StartOptions): Promise<DomainRecordPatch>;
  /**
   * Refuses a config this engine cannot run whatever the host has (its machine's limits); called
   * before anything is stored or made for a new domain, so cheap and without side effects.
   */
  checkConfig?(config: DomainConfig): void;
  /**
   * `xl save`: writes `header` then the machine's state to `out` and commits it (the caller
   * closes it: never a partial file under the name); resolves with its size. The machine is left
   * stopped; on failure it runs again if `wasRunning`.
   */
  save?(record: DomainRecord, out: ReplacingFile, header: Buffer, wasRunning: boolean): Promise<number>;
  /**
   * `xl migrate`: streams the machine's state, live, into named pipe `fifo` (the transport to the
   * receiving host reads its other end); resolves once the stream is complete, the machine
   * stopped. On failure the machine runs on if it ran.
   */
  migrate?(record: DomainRecord, fifo: string): Promise<MigrationStats>;
  /**
   * Ends the writer of `record`'s outgoing stream (its reader is gone: the sending xl ended),
   * so that a migration blocked on it fails at once rather than when its stall guard fires.
   */
  endOutgoingStream?(record: DomainRecord): void;
  /** The machine as a restore or migration of its state must rebuild it (see `MachineLayout`). */
  machineLayout?(record: DomainRecord): Promise<MachineLayout>;
  /** Fails as `migrate` would before streaming anything (a machine that cannot be migrated). */
  checkMigratable?(record: DomainRecord): Promise<void>;
  /** How far the machine's outgoing migration (or save) is; read beside the job that runs it. */
  migrationProgress?(record: DomainRecord): Promise<MigrationSnapshot>;
  /** Stops the vCPUs. */
  pause(record: DomainRecord): Promise<void>;
  /** Resumes the vCPUs (also the first start after `start`). */
  unpause(record: DomainRecord): Promise<void>;
  /** Asks the guest to power off (ACPI power button); returns without waiting. */
  shutdown(record: DomainRecord): Promise<void>;
  /** Asks the guest to reboot; returns without waiting. */
  reboot(record: DomainRecord): Promise<void>;
  /** Kills the machine and releases its resources; resolves once the process is gone. */
  destroy(record: DomainRecord): Promise<void>;
  /**
   * Kills the machine at once, outside the domain's job queue (destroy pre-empts whatever job is
   * waiting on a wedged machine: its commands fail as the machine goes). `destroy` still follows.
   */
  kill?(record: DomainRecord): void;
  /**
   * At dom0d start-up, for each persisted domain that was live: re-attaches to its machine
   * (QMP, console) and says whether it is still there (`stopped`: there, but stopped though its
   * record says it runs, a save or migration cut short having stopped it).
   */
  adopt(record: DomainRecord): Promise<'alive' | 'gone' | 'stopped'>;
  /**
   * At dom0d start-up, after adoption: the live machines of this host whose domid is not in
   * `known`. Leftovers of dead ones (run directories) are removed on the way.
   */
  orphans?(known: ReadonlySet<number>): Promise<OrphanMachine[]>;
  /** CPU time the domain has used so far, ns (0 when unknown). */
  cpuTimeNs(record: DomainRecord): Promise<number>;
  /**
   * Whether every vCPU of a running domain is idle (halted, waiting for an interrupt): Xen's
   * `blocked` flag (`-b----` in `xl list`). Undefined when unknown.
   */
  vcpusBlocked?(record: DomainRecord): boolean | undefined;
  /** Called once by `DomainManager`: where the driver reports guests that stopped by themselves. */
  setMachineEventSink?(sink: MachineEventSink): void;
  /** The guest has stopped and the domain is now `shutdown` (Xen fires `@releaseDomain`). */
  stopped?(record: DomainRecord): Promise<void>;
  /** A suspended domain runs again (`xl resume`): xenstored is told (RESUME), so its next shutdown fires `@releaseDomain` again. */
  resumed?(record: DomainRecord): Promise<void>;
  /** Writes the guest's memory to `out` as an ELF core and commits it (the `coredump-*` actions, `xl dump-core`); the guest runs on after. */
  coreDump?(record: DomainRecord, out: ReplacingFile): Promise<void>;
  /** `xl qemu-monitor-command`: a human-monitor (HMP) command to the machine; resolves with its output. */
  monitorCommand?(record: DomainRecord, command: string): Promise<string>;
  /** The domain's name or uuid changed (rename, rename-restart): what the driver published follows. */
  renamed?(record: DomainRecord, previous: DomainRecord): Promise<void>;
  /**
   * Delivers a trigger to the domain (`xl trigger`); resolves with how it was delivered (the
   * machine's own command), NOT_SUPPORTED when the machine cannot deliver it.
   */
  trigger?(record: DomainRecord, trigger: TriggerName, vcpu: number): Promise<string>;
  /**
   * `xl sysrq`: tells the guest (xenstore `control/sysrq`) and presses Alt+SysRq+key on its
   * keyboard. Resolves with the xenstore path written and the keys pressed.
   */
  sysrq?(record: DomainRecord, key: string): Promise<{ readonly xenstorePath: string; readonly keys: readonly string[] }>;
  /** Where the domain's VNC server listens now; undefined when it has none. */
  vnc?(record: DomainRecord): Promise<{ readonly host: string; readonly port: number } | undefined>;
  /**
   * Hot-plug (devices.ts has the device model; the record's config does not have `device` yet):
   * adds it to the running machine and writes its xenstore nodes. All or nothing: on failure
   * the machine and xenstore are as before. NOT_SUPPORTED for what the guest cannot take live.
   * `chain`: a disk's, as `checkDisks` found it.
   */
  attachDevice?(record: DomainRecord, device: DomainDevice, chain?: CheckedChain): Promise<void>;
  /**
   * Removes `device` (an entry of the record's config): asks the guest to release it and waits,
   * up to the driver's deadline (or `waitMs`), until it has. Resolves `true` once it is gone from
   * the machine and xenstore. A guest that does not release it in time: without `force`,
   * DEVICE_TIMEOUT and the device stays; with `force`, its xenstore nodes go and it resolves
   * `false` (the machine lets it go when the guest does). Either way a later release is reported
   * through the device sink.
   */
  detachDevice?(record: DomainRecord, device: DomainDevice, options: { readonly force: boolean; readonly waitMs?: number }): Promise<boolean>;
  /** After the device sink reported `device` released: frees what is left of it (idempotent). */
  releaseDevice?(record: DomainRecord, device: DomainDevice): Promise<void>;
  /**
   * Called once by `DomainManager`: where the driver reports devices released late or removed by
   * the guest; `configsOf` gives the configs whose devices a domain's machine may have, as its
   * record has them now (which device that was): its config, and its `lingering` devices.
   */
  setDeviceEventSink?(sink: DeviceEventSink, configsOf: (domid: number) => readonly DomainConfig[]): void;
  /**
   * Replaces the medium of the removable drive `drive` (an entry of the record's config) by
   * that of `medium` (the same vdev; format `empty` ejects). All or nothing. `chains`: as
   * `checkDisks` found them, the new medium's, and the drive's own to put it back on failure
   * (without one, a medium whose format has chains is not put back).
   */
  changeMedia?(record: DomainRecord, drive: DiskDevice, medium: DiskDevice, chains: MediaChains): Promise<void>;
  /**
   * `xl mem-set` / `mem-max` (the manager checked libxl's rules against the record): moves the
   * balloon to `targetKiB` and writes `memory/target`, `memory/static-max` and `/vm/UUID/memory`.
   * Resolves with the RAM the machine has (the balloon's ceiling until the domain reboots);
   * MEMORY, and nothing changed, when `targetKiB` is above it.
   */
  setMemory?(record: DomainRecord, memory: { readonly targetKiB: number; readonly maxKiB: number }): Promise<{ readonly machineKiB: number }>;
  /** The machine's plugged vCPUs (`xl vcpu-list`), in vCPU order; empty when it has no machine. */
  vcpus?(record: DomainRecord): Promise<MachineVcpu[]>;
  /**
   * Gives vCPUs `vcpus` (default: every plugged one) the hard affinity of the record's config
   * (`b_info.vcpu_hard_affinity`, one map per vCPU; a vCPU without one is left as it is): its
   * thread may run on the host CPUs of its map. VCPU, with libxl's line, and nothing changed when
   * a map names no CPU of the host; a vCPU that is not plugged gets its map when it is.
   */
  setVcpuAffinity?(record: DomainRecord, vcpus?: readonly number[]): Promise<void>;
  /**
   * `xl vcpu-set`: vCPUs 0..count-1 online. Plugs the missing ones (with their affinity) and asks
   * the guest to release those above, waiting for it up to the driver's deadline while it runs;
   * writes `cpu/N/availability`. Resolves with the vCPUs asked to go that the guest still holds
   * (it lets them go when it does). VCPU when QEMU refuses one; those asked before stay asked.
   */
  setVcpus?(record: DomainRecord, count: number): Promise<{ readonly pending: readonly number[] }>;
  /** The machine's counters now (`xentop`); empty lists for what it cannot tell. */
  machineStats?(record: DomainRecord): Promise<MachineStats>;
  /** The guest's memory as its balloon driver last reported it (QMP `BALLOON_CHANGE`), KiB; undefined before it has. */
  currentMemKiB?(record: DomainRecord): number | undefined;
  /** What xenstore holds of `device` (`xl block-list`'s columns); undefined when it has no nodes. */
  deviceInfo?(record: DomainRecord, device: DomainDevice): Promise<DeviceXenstoreInfo | undefined>;
  /**
   * The machine's process and each plugged vCPU's thread, for the host's cgroups (CPU pools,
   * scheduler parameters); undefined when it has no machine now.
   */
  machineThreads?(record: DomainRecord): Promise<MachineThreads | undefined>;
}

/** A machine's process and the thread of each plugged vCPU. */
export interface MachineThreads {
  readonly pid: number;
  readonly vcpus: ReadonlyArray<{ readonly vcpu: number; readonly tid: number }>;
}

/**
 * The driver dom0d has until the QEMU layer is wired in: it can account for processes (liveness,
 * CPU time, kill) but cannot start or steer a machine, so those operations fail with
 * NOT_SUPPORTED. A record without a process (`qemuPid` null) has nothing to lose: it adopts as
 * alive and destroys as a no-op.
 */
export class ProcessOnlyDriver implements DomainDriver {
  start(record: DomainRecord): Promise<DomainRecordPatch> {
    return Promise.reject(unsupported('start', record));
  }

  pause(record: DomainRecord): Promise<void> {
    return Promise.reject(unsupported('pause', record));
  }

  unpause(record: DomainRecord): Promise<void> {
    return Promise.reject(unsupported('unpause', record));
  }

  shutdown(record: DomainRecord): Promise<void> {
    return Promise.reject(unsupported('shut down', record));
  }

  reboot(record: DomainRecord): Promise<void> {
    return Promise.reject(unsupported('reboot', record));
  }

  async destroy(record: DomainRecord): Promise<void> {
    const pid = record.qemuPid;
    if (pid === null || !killPid(pid)) return;
    await waitForPidExit(pid, 5000);
  }

  adopt(record: DomainRecord): Promise<'alive' | 'gone'> {
    return Promise.resolve(record.qemuPid === null || isPidAlive(record.qemuPid) ? 'alive' : 'gone');
  }

  cpuTimeNs(record: DomainRecord): Promise<number> {
    return Promise.resolve(record.qemuPid === null ? 0 : processCpuTimeNs(record.qemuPid) ?? 0);
  }
}

function unsupported(what: string, record: DomainRecord): ToolstackError {
  return new ToolstackError('NOT_SUPPORTED', `Cannot ${what} domain '${record.name}': QEMU-backed domains are not wired into dom0d yet`);
}
