/**
 * Typed QMP commands and events over a `QmpTransport`. Argument and result types mirror QEMU's
 * QAPI schema (QEMU's own field names, e.g. `thread-id`), so what is sent and read is exactly
 * what QEMU documents; only the subset the toolstack uses is typed. `execute()` runs any other
 * command untyped.
 *
 * Errors: a command QEMU refuses rejects with `QmpCommandError` (code `QEMU`, message QEMU's
 * `desc`); a connection that ends first rejects with `QmpClosedError` (code `QEMU`).
 * The client knows nothing of domains.
 */
import { ToolstackError } from '../../common/index.js';
import {
  QmpClosedError, QmpTransport, type QmpClosed, type QmpConnectOptions, type QmpEvent, type QmpExecuteOptions, type QmpGreeting,
} from './transport.js';

/** `query-status` → `status` (QAPI RunState). */
export type QmpRunState =
  | 'debug' | 'finish-migrate' | 'inmigrate' | 'internal-error' | 'io-error' | 'paused'
  | 'postmigrate' | 'prelaunch' | 'restore-vm' | 'running' | 'save-vm' | 'shutdown' | 'suspended'
  | 'watchdog' | 'guest-panicked' | 'colo';

export interface QmpStatusInfo {
  readonly running: boolean;
  readonly status: QmpRunState;
}

/** One vCPU from `query-cpus-fast`; `thread-id` is the host TID of the vCPU thread. */
export interface QmpCpuInfoFast {
  readonly 'cpu-index': number;
  readonly 'qom-path': string;
  readonly 'thread-id': number;
  readonly target: string;
  readonly props?: Readonly<Record<string, number>>;
}

/**
 * One CPU slot from `query-hotpluggable-cpus` (`-smp ...,maxcpus=N` gives N): `props` are its
 * topology ids (`socket-id`, `core-id`, `thread-id`, ...), what `device_add` of `type` takes to
 * fill it; `qom-path` is present when a CPU is plugged in it.
 */
export interface QmpHotpluggableCpu {
  readonly type: string;
  readonly 'vcpus-count': number;
  readonly props: Readonly<Record<string, number>>;
  readonly 'qom-path'?: string;
}

export interface QmpVncInfo {
  readonly enabled: boolean;
  readonly host?: string;
  readonly service?: string;
  readonly family?: string;
  readonly auth?: string;
  readonly clients?: readonly Readonly<Record<string, unknown>>[];
}

/** One PCI bus of `query-pci` and the devices on it (functions of one slot are separate entries). */
export interface QmpPciBus {
  readonly bus: number;
  readonly devices: readonly { readonly bus: number; readonly slot: number; readonly function: number; readonly qdev_id: string }[];
}

export interface QmpChardevInfo {
  readonly label: string;
  /** e.g. `pty:/dev/pts/3`, `unix:/run/dom0/c.sock,server=on` (`disconnected:unix:...` while no client is attached), `file`. */
  readonly filename: string;
  readonly 'frontend-open': boolean;
}

/** `query-migrate`; `status` absent before any migration. */
export interface QmpMigrationInfo {
  readonly status?: 'none' | 'setup' | 'cancelling' | 'cancelled' | 'active' | 'postcopy-active' |
    'postcopy-paused' | 'postcopy-recover' | 'completed' | 'failed' | 'colo' | 'pre-switchover' |
    'device' | 'wait-unplug';
  readonly 'total-time'?: number;
  readonly downtime?: number;
  readonly 'expected-downtime'?: number;
  readonly 'setup-time'?: number;
  readonly ram?: Readonly<Record<string, number>>;
  readonly 'error-desc'?: string;
}

export interface QmpBalloonInfo {
  /** Current guest memory in bytes. */
  readonly actual: number;
}

/** `send-key` key: a QKeyCode name (`ctrl`, `alt`, `delete`, `a`, `ret`, ...) or a raw number. */
export type QmpKey = string | number;

/** Properties of `device_add`: `driver` and `id` plus the device's own properties. */
export interface QmpDeviceProps {
  readonly driver: string;
  readonly id: string;
  readonly [prop: string]: unknown;
}

/** Properties of `netdev_add`: `type` (`tap`, `user`, ...) and `id` plus the backend's own. */
export interface QmpNetdevProps {
  readonly type: string;
  readonly id: string;
  readonly [prop: string]: unknown;
}

/** Options of `blockdev-add` (a BlockdevOptions tree); `node-name` names the top node. */
export interface QmpBlockdevOptions {
  readonly driver: string;
  readonly 'node-name': string;
  readonly [option: string]: unknown;
}

export interface QmpDumpOptions {
  /** Dump only the guest's memory regions that paging maps (default false: all RAM). */
  readonly paging?: boolean;
  /** `elf` (default), `kdump-zlib`, `kdump-lzo`, `kdump-snappy`, `win-dmp`. */
  readonly format?: string;
  /** Return at once and report with a DUMP_COMPLETED event (default false: wait). */
  readonly detach?: boolean;
}

export interface WaitForEventOptions {
  /** Reject with a `QEMU` ToolstackError after this long (default 10000 ms). */
  readonly timeoutMs?: number;
  /** Only events this accepts count. */
  readonly match?: (event: QmpEvent) => boolean;
}

export class QmpClient {
  readonly transport: QmpTransport;

  constructor(transport: QmpTransport) {
    this.transport = transport;
  }

  /** Connects to a QMP socket and negotiates capabilities (see `QmpTransport.connect`). */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    return new QmpClient(await QmpTransport.connect(path, options));
  }

  get greeting(): QmpGreeting {
    return this.transport.greeting;
  }

  /** Resolves when QEMU goes away (its socket closes) or `close()` is called. */
  get closed(): Promise<QmpClosed> {
    return this.transport.closed;
  }

  /** Calls `listener` once when the connection ends (see `QmpTransport.onClose`). */
  onClose(listener: (closed: QmpClosed) => void): () => void {
    return this.transport.onClose(listener);
  }

  get isClosed(): boolean {
    return this.transport.isClosed;
  }

  close(): void {
    this.transport.close();
  }

  /** Any QMP command, untyped (see `QmpTransport.execute` for its deadline). */
  execute(command: string, args?: Readonly<Record<string, unknown>>, options?: QmpExecuteOptions): Promise<unknown> {
    return this.transport.execute(command, args, options);
  }

  /**
   * Calls `listener` for each event named `name` (`'*'`: every event), synchronously in arrival
   * order. Listeners must not block; they queue work. Returns an unsubscribe function.
   */
  onEvent(name: string, listener: (event: QmpEvent) => void): () => void {
    return this.transport.onEvent(name, listener);
  }

  /**
   * Resolves with the next event named `name` (that `match` accepts). Subscribe before sending
   * the command that causes it. Rejects when the connection ends first or at the timeout.
   */
  waitForEvent(name: string, options: WaitForEventOptions = {}): Promise<QmpEvent> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      let offEvent = (): void => undefined;
      let offClose = (): void => undefined;
      const done = (): void => {
        clearTimeout(timer);
        offEvent();
        offClose();
      };
      offClose = this.transport.onClose((c) => {
        done();
        reject(new QmpClosedError(`wait for ${name}`, c));
      });
      if (this.isClosed) return;
      offEvent = this.onEvent(name, (e) => {
        if (options.match !== undefined && !options.match(e)) return;
        done();
        resolve(e);
      });
      timer = setTimeout(() => {
        done();
        reject(new ToolstackError('QEMU', `QMP event ${name} did not come within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  async queryStatus(): Promise<QmpStatusInfo> {
    return (await this.execute('query-status')) as QmpStatusInfo;
  }

  /** Pauses every vCPU. */
  async stop(): Promise<void> {
    await this.execute('stop');
  }

  /** Resumes the vCPUs (also starts a QEMU started with `-S`). */
  async cont(): Promise<void> {
    await this.execute('cont');
  }

  /** Presses the ACPI power button; the guest decides what to do. */
  async systemPowerdown(): Promise<void> {
    await this.execute('system_powerdown');
  }

  /** Hard reset of the machine. */
  async systemReset(): Promise<void> {
    await this.execute('system_reset');
  }

  /**
   * Makes QEMU exit at once. Resolves when QEMU acknowledged or closed the connection (it may
   * close before the acknowledgement arrives).
   */
  async quit(): Promise<void> {
    try {
      await this.execute('quit');
    } catch (e) {
      if (!(e instanceof QmpClosedError)) throw e;
    }
  }

  async queryCpusFast(): Promise<QmpCpuInfoFast[]> {
    return (await this.execute('query-cpus-fast')) as QmpCpuInfoFast[];
  }

  async queryHotpluggableCpus(): Promise<QmpHotpluggableCpu[]> {
    return (await this.execute('query-hotpluggable-cpus')) as QmpHotpluggableCpu[];
  }

  /** Runs a human monitor (HMP) command and returns its text output. */
  async humanMonitorCommand(commandLine: string): Promise<string> {
    return (await this.execute('human-monitor-command', { 'command-line': commandLine })) as string;
  }

  async queryVnc(): Promise<QmpVncInfo> {
    return (await this.execute('query-vnc')) as QmpVncInfo;
  }

  async queryPci(): Promise<QmpPciBus[]> {
    return (await this.execute('query-pci')) as QmpPciBus[];
  }

  async queryChardev(): Promise<QmpChardevInfo[]> {
    return (await this.execute('query-chardev')) as QmpChardevInfo[];
  }

  async deviceAdd(props: QmpDeviceProps): Promise<void> {
    await this.execute('device_add', props);
  }

  /**
   * Asks the guest to release a device. Completion is the DEVICE_DELETED event (with this `id`),
   * which only comes if the guest cooperates (ACPI hotplug).
   */
  async deviceDel(id: string): Promise<void> {
    await this.execute('device_del', { id });
  }

  async blockdevAdd(options: QmpBlockdevOptions): Promise<void> {
    await this.execute('blockdev-add', options);
  }

  async blockdevDel(nodeName: string): Promise<void> {
    await this.execute('blockdev-del', { 'node-name': nodeName });
  }

  /**
   * Opens the tray of a removable-media device (`id`: its qdev id). `force` opens it even while
   * the guest has locked it; without a tray (a non-removable device) QEMU refuses.
   */
  async blockdevOpenTray(id: string, force = false): Promise<void> {
    await this.execute('blockdev-open-tray', { id, force });
  }

  async blockdevCloseTray(id: string): Promise<void> {
    await this.execute('blockdev-close-tray', { id });
  }

  /** Takes the medium out of the (open) tray of device `id`; its node stays until `blockdevDel`. */
  async blockdevRemoveMedium(id: string): Promise<void> {
    await this.execute('blockdev-remove-medium', { id });
  }

  /** Puts the node `nodeName` into the (open, empty) tray of device `id`. */
  async blockdevInsertMedium(id: string, nodeName: string): Promise<void> {
    await this.execute('blockdev-insert-medium', { id, 'node-name': nodeName });
  }

  async netdevAdd(props: QmpNetdevProps): Promise<void> {
    await this.execute('netdev_add', props);
  }

  async netdevDel(id: string): Promise<void> {
    await this.execute('netdev_del', { id });
  }

  /** Sets the balloon target to `bytes` of guest memory. */
  async balloon(bytes: number): Promise<void> {
    await this.execute('balloon', { value: bytes });
  }

  async queryBalloon(): Promise<QmpBalloonInfo> {
    return (await this.execute('query-balloon')) as QmpBalloonInfo;
  }

  /**
   * Starts migrating to `uri` (`tcp:HOST:PORT`, `unix:PATH`, `exec:CMD`, `fd:NAME`); returns at
   * once. Progress: `queryMigrate()` or MIGRATION events (after
   * `migrate-set-capabilities` `events`).
   */
  async migrate(uri: string): Promise<void> {
    await this.execute('migrate', { uri });
  }

  async queryMigrate(): Promise<QmpMigrationInfo> {
    return (await this.execute('query-migrate')) as QmpMigrationInfo;
  }

  /** `migrate-set-parameters`, e.g. `{ 'max-bandwidth': bytesPerSecond, 'downtime-limit': ms }`. */
  async migrateSetParameters(parameters: Readonly<Record<string, unknown>>): Promise<void> {
    await this.execute('migrate-set-parameters', parameters);
  }

  /** `migrate-set-capabilities` with `{capability: state}` pairs, e.g. `{ events: true }`. */
  async migrateSetCapabilities(capabilities: Readonly<Record<string, boolean>>): Promise<void> {
    await this.execute('migrate-set-capabilities', {
      capabilities: Object.entries(capabilities).map(([capability, state]) => ({ capability, state })),
    });
  }

  /** Writes the guest's memory to `file` (an absolute path) as a core dump; no deadline (it takes as long as the memory). */
  async dumpGuestMemory(file: string, options: QmpDumpOptions = {}): Promise<void> {
    await this.execute('dump-guest-memory', {
      paging: options.paging ?? false,
      protocol: `file:${file}`,
      ...(options.format === undefined ? {} : { format: options.format }),
      ...(options.detach === undefined ? {} : { detach: options.detach }),
    }, { timeoutMs: 0 });
  }

  /** Writes the display to `file` (PPM; `format: 'png'` for PNG). */
  async screendump(file: string, options: { device?: string; head?: number; format?: 'ppm' | 'png' } = {}): Promise<void> {
    await this.execute('screendump', { filename: file, ...options });
  }

  /** Presses `keys` together (e.g. `['ctrl', 'alt', 'delete']`), then releases them. */
  async sendKey(keys: readonly QmpKey[], holdTimeMs?: number): Promise<void> {
    await this.execute('send-key', {
      keys: keys.map((k) => (typeof k === 'number' ? { type: 'number', data: k } : { type: 'qcode', data: k })),
      ...(holdTimeMs === undefined ? {} : { 'hold-time': holdTimeMs }),
    });
  }

  async injectNmi(): Promise<void> {
    await this.execute('inject-nmi');
  }
}
