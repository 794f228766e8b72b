import { ToolstackError } from '../common/index.js';
import { processAlive, processCpuTimeNs } from './host.js';
import type { DomainRecord, DomainRecordPatch } from './record.js';
import type { ShutdownReason } from './state.js';

/**
 * How a driver reports a guest that stopped by itself (powered off, rebooted, crashed, watchdog,
 * or its machine died). It only queues work for the domain; it never acts in the caller.
 */
export type MachineEventSink = (domid: number, reason: ShutdownReason) => void;

/**
 * The machine behind a domain (one QEMU process). `DomainManager` calls a driver only inside the
 * domain's job, with the record as it stands; the driver never touches the registry itself, it
 * returns what must be persisted. A driver method that awaits QEMU must re-check that QEMU is
 * still alive afterwards and fail with a QEMU error naming the root cause if it is not.
 */
export interface DomainDriver {
  /**
   * Spawns the machine with its vCPUs stopped (state `creating`) and returns what to persist:
   * at least `qemuPid` and `sockets`. On failure nothing may be left running.
   */
  start(record: DomainRecord): Promise<DomainRecordPatch>;
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
   * At dom0d start-up, for each persisted domain that was live: re-attaches to its machine
   * (QMP, console) and says whether it is still there.
   */
  adopt(record: DomainRecord): Promise<'alive' | 'gone'>;
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
  /** Writes the guest's memory to `file` as an ELF core (the `coredump-*` actions). */
  coreDump?(record: DomainRecord, file: string): Promise<void>;
  /** The domain's name or uuid changed (rename, rename-restart): what the driver published follows. */
  renamed?(record: DomainRecord, previous: DomainRecord): Promise<void>;
  /**
   * Runs one QMP command on the domain's QEMU and resolves with its `return` value (`xl trigger`,
   * `sysrq`, `vncviewer`). Absent: the machine layer has no monitor.
   */
  monitor?(record: DomainRecord, command: string, args?: Readonly<Record<string, unknown>>): Promise<unknown>;
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
    if (pid === null || !processAlive(pid)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 250 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  }

  adopt(record: DomainRecord): Promise<'alive' | 'gone'> {
    return Promise.resolve(record.qemuPid === null || processAlive(record.qemuPid) ? 'alive' : 'gone');
  }

  cpuTimeNs(record: DomainRecord): Promise<number> {
    return Promise.resolve(record.qemuPid === null ? 0 : processCpuTimeNs(record.qemuPid) ?? 0);
  }
}

function unsupported(what: string, record: DomainRecord): ToolstackError {
  return new ToolstackError('NOT_SUPPORTED', `Cannot ${what} domain '${record.name}': QEMU-backed domains are not wired into dom0d yet`);
}
