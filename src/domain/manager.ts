import { realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isErrno, isToolstackError, monotonicMs, ToolstackError } from '../common/index.js';
import { freeForGuestsKiB, isPidAlive, KeyedQueue, pidAliveOr, onlineCpus, probePaths, processStartTime, readHostMemory, ReplacingFile, shortageOf } from '../host/index.js';
import { cpuBitmapBits, domainMemory, domainVcpus, parsePciBdf, strerror, withLibxlDefaults } from '../config/index.js';
import type { DiskDevice, DomainConfig } from '../config/index.js';
import { checkDistinctDevices, DEVICE_KINDS, deviceByDevid, deviceDevid, deviceLabel, deviceNotFound, devicesOf, findDevice, replaceDevice, slotMates, withDevice, withDeviceDefaults } from './devices.js';
import type { DeviceKind, DomainDevice } from './devices.js';
import { diskHasMedium } from '../qemu/index.js';
import { imageIdentity } from '../storage/index.js';
import type { MachineLayout } from '../qemu/index.js';
import { checkDisks, diskContext, OpenedImages, refuseSwappedImage, withDiskBackend } from './disk-checks.js';
import type { CheckedImage } from './disk-checks.js';
import { checkHostPaths, configPaths, listeningPaths, outputFileProblem } from './host-paths.js';
import type { HostPathContext } from './host-paths.js';
import type { CheckedChain, DomainDriver, MigrationStats, OrphanMachine, StartOptions, TriggerName } from './driver.js';
import { ProcessOnlyDriver } from './driver.js';
import { Passthrough, usbHolders } from './passthrough.js';
import type { AssignablePciList, DeviceHolder, HostDeviceChange } from './passthrough.js';
import { DomainEvents } from './events.js';
import type { MigrationPhase } from './events.js';
import { DomainJobQueue } from './jobs.js';
import { policyAction, policyActionName, preservedName } from './policy.js';
import { writeTarget } from './qemu-runtime.js';
import { machineConfigs, RECOVERED_SOURCE } from './record.js';
import type { DomainRecord, NewDomain, RestartIntent } from './record.js';
import { DomainRegistry, MAX_NAME_BYTES } from './registry.js';
import { DEFAULT_SCHEDULER, defaultSched } from './sched.js';
import { DomainScheduling } from './scheduling.js';
import type { SchedulingOptions } from './scheduling.js';
import { assertActionAllowed, SHUTDOWN_REASONS } from './state.js';
import type { DomainAction, DomainState, ShutdownReason } from './state.js';
import { affinityRefusedLine, vcpuRows, withVcpuAffinity } from './vcpus.js';
import type { VcpuInfo } from './vcpus.js';
import { XENBUS_STATE } from './xenstore-layout.js';
import type { DeviceXenstoreInfo } from './xenstore-layout.js';

export interface DomainManagerOptions {
  /** `STATE_DIR/domains`. */
  readonly domainsDir: string;
  /** The machine layer; `ProcessOnlyDriver` until QEMU is wired in. */
  readonly driver?: DomainDriver;
  readonly events?: DomainEvents;
  /** Receives one line per unreadable record found at start-up. */
  readonly warnings?: string[];
  /**
   * Awaited once a new machine has started (vCPUs stopped) and before it first runs, also for
   * `create -p`: the console layer attaches here so that no early console byte is lost.
   */
  readonly beforeUnpause?: (record: DomainRecord) => Promise<void>;
  /** The pause before a restart re-creates the domain (xl's `sleep(2)`; default 2000 ms). */
  readonly restartDelayMs?: number;
  /** Where the `coredump-*` actions write `<name>` (Xen: /var/lib/xen/dump); unset: no dumps. */
  readonly dumpDir?: string;
  /**
   * dom0's own directories besides the records' parent (its run, config and log directories),
   * where `xl save` and `xl dump-core` never write, and which an image's header or a serial path
   * may not name.
   */
  readonly ownDirs?: readonly string[];
  /** The monitor's log lines (xl's `xl-<name>.log` equivalents). */
  readonly log?: (line: string) => void;
  /**
   * Whether the host names things after `domid` for another dom0 (its vif interfaces: domids
   * repeat across instances on one host): such a domid is handed out only when no other is free.
   */
  readonly domidElsewhere?: (domid: number) => boolean;
  /** CPU pools and scheduling (default: Pool-0 of the online CPUs in memory, Xen's default scheduler, no cgroups). */
  readonly sched?: SchedulingOptions;
  /** The host's PCI and USB devices domains take (default: this host's, without assignable-device names). */
  readonly passthrough?: Passthrough;
}

/** How often a migration's xl is checked for (see `#watchArrival`, `#watchSender`). */
const ARRIVAL_CHECK_MS = 500;

/** Retries of a restart that failed for want of descriptors, processes or memory (see #scheduleRestart). */
const RESTART_RETRIES = 5;

/** The suffix of a sender's name once it has given the target permission to start (xl's). */
const MIGRATED_AWAY = '--migratedaway';

/** States in which a guest may stop by itself (what the machine-event sink acts on). */
const LIVE_STATES: readonly DomainState[] = ['running', 'paused', 'shutting-down'];

/** What start-up re-adoption found. */
export interface AdoptReport {
  /** Domains whose machine is still there (or that have none). */
  readonly adopted: number;
  /** Domains whose machine died while dom0d was down: now `shutdown` with reason `crash`. */
  readonly crashed: number;
  /** Half-created or half-destroyed domains, finished off. */
  readonly removed: number;
  /** Restarts a previous dom0d had promised and not done, resumed. */
  readonly restarts: number;
  /** Running machines found without a record (lost or unreadable), recorded again. */
  readonly recovered: number;
}

/** The driver's optional operations the manager calls, and what a machine without one cannot do. */
const MACHINE_OPS = {
  trigger: 'take a trigger', sysrq: 'take a sysrq', vnc: 'show a display',
  attachDevice: 'gain devices while it runs', detachDevice: 'lose devices while it runs', changeMedia: 'change media',
  setMemory: 'change its memory', save: 'be saved', migrate: 'be migrated', coreDump: 'dump its core', monitorCommand: 'take monitor commands',
  setVcpuAffinity: 'pin its vCPUs', setVcpus: 'change its vCPUs', machineLayout: 'tell its layout',
} as const;
type MachineOp = keyof typeof MACHINE_OPS;
/** The operations that change what a migration stream must describe. */
const RESHAPING_OPS: ReadonlySet<MachineOp> = new Set(['attachDevice', 'detachDevice', 'changeMedia', 'setVcpus']);

/** A domain's memory after `setMemory`, KiB (`machineKiB`: the RAM its machine has until it reboots). */
export interface MemoryChange {
  readonly record: DomainRecord;
  readonly targetKiB: number;
  readonly maxKiB: number;
  readonly machineKiB: number;
}

/** A device of a domain and what xenstore holds of it. */
export interface DeviceEntry {
  readonly device: DomainDevice;
  readonly devid: number;
  readonly xenstore: DeviceXenstoreInfo;
}

/**
 * The domain lifecycle: every mutating operation runs as a job on the domain's queue, checks the
 * state it starts from (`ACTION_STATES`), drives the machine through the `DomainDriver`, and
 * records each step in the registry (which persists it and emits the event).
 *
 * Adding a QEMU-backed operation: give `DomainDriver` the method, implement it in the QEMU
 * driver, add the action to `ACTION_STATES`, and add a method here following `pause`.
 */
export class DomainManager {
  readonly registry: DomainRegistry;
  readonly events: DomainEvents;
  readonly jobs = new DomainJobQueue();
  readonly driver: DomainDriver;
  /** CPU pools and each domain's scheduling. */
  readonly sched: DomainScheduling;
  /** The host devices domains take (PCI, USB) and the assignable PCI devices. */
  readonly passthrough: Passthrough;
  readonly #options: DomainManagerOptions;
  readonly #log: (line: string) => void;
  /** Restarts waiting for their time, by the uuid of the domain they re-create. */
  readonly #restarts = new Map<string, NodeJS.Timeout>();
  /** Unpauses, one at a time per guest (uuid). */
  readonly #oneGuest = new KeyedQueue<string>();
  /** Files a save or core dump is writing now, and by whom (see `#writingTo`). */
  readonly #writing = new Map<string, string>();
  /** Restarts an xl destroy cancelled before they were scheduled (by uuid). */
  readonly #cancelledRestarts = new Set<string>();
  /**
   * Domains whose migration out is claimed (`claimMigration`), under way or done, until their
   * sending xl ends it (`endMigration`) or ends, or they are unpaused or destroyed: another
   * migration (or a save) of theirs is refused. The value: that xl's pid, when it said.
   */
  readonly #outgoing = new Map<number, number | undefined>();
  /** The live domains' disk images as their QEMUs opened them (see `OpenedImages`). */
  readonly #opened = new OpenedImages();
  /** Domains an `xl destroy` is ending (from its call until its job is done). */
  readonly #destroying = new Set<number>();
  /**
   * Checks of host devices and images (disks, USB, PCI) and the recording of what passed: one
   * request at a time on the host. Two attaches of one disk (or a disk and its partition) at once
   * both passed while the first awaited qemu-img, neither recorded yet: two guests wrote it.
   */
  readonly #hostChecks = new KeyedQueue<'host'>();

  private constructor(registry: DomainRegistry, events: DomainEvents, driver: DomainDriver, sched: DomainScheduling, options: DomainManagerOptions) {
    this.registry = registry;
    this.events = events;
    this.driver = driver;
    this.sched = sched;
    this.passthrough = options.passthrough ?? new Passthrough();
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
    driver.setMachineEventSink?.((domid, reason) => this.#onStopped(domid, reason));
    driver.setDeviceEventSink?.((domid, device, how) => this.#onDeviceReleased(domid, device, how), (domid) => {
      const rec = this.registry.get(domid);
      return rec === undefined ? [] : machineConfigs(rec);
    });
  }

  static async open(options: DomainManagerOptions): Promise<DomainManager> {
    const events = options.events ?? new DomainEvents();
    const registry = await DomainRegistry.open(options.domainsDir, {
      events,
      ...(options.domidElsewhere === undefined ? {} : { domidElsewhere: options.domidElsewhere }),
      ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
    });
    const driver = options.driver ?? new ProcessOnlyDriver();
    // Scheduling runs its changes as the manager's jobs: it gets them once the manager exists.
    // Without `sched` options (a manager with no host to schedule on) it has nothing to report.
    const late: { manager?: DomainManager } = {};
    const sched = await DomainScheduling.open(options.sched ?? {
      host: { cpus: onlineCpus().map((cpu) => ({ cpu, node: 0 })), scheduler: DEFAULT_SCHEDULER },
      cgroups: new ToolstackError('CGROUP', 'This dom0d was started without cgroups'),
    }, {
      registry, driver, log: (options.sched === undefined ? undefined : options.log) ?? (() => undefined),
      job: (domid, action, body) => (late.manager as DomainManager).#job(domid, action, body),
    });
    late.manager = new DomainManager(registry, events, driver, sched, options);
    return late.manager;
  }

  /**
   * Xen's domain qualifier: all decimal digits is a domid, anything else a name. Domain-0 is not
   * a record (the caller answers for it). A missing name fails as `find_domain` does in xl.
   */
  resolve(ref: string): DomainRecord {
    if (/^\d+$/.test(ref)) return this.registry.require(Number(ref));
    const rec = this.registry.byName(ref);
    if (rec === undefined) {
      throw new ToolstackError('DOMAIN_NOT_FOUND', `No domain named '${ref}'`, {
        lines: [`${ref} is an invalid domain identifier (rc=-6)`],
      });
    }
    return rec;
  }

  /**
   * Re-adopts every persisted domain at dom0d start-up (before the API serves): live machines are
   * kept as they were; machines that died meanwhile become `shutdown`/`crash` (the on_crash
   * policy then applies); half-done creates and destroys are finished by destroying, and so are
   * domains that were arriving by migration (see `DomainRecord.arriving`) — first, so that a
   * sender on this host resumed next finds its disks free of the receiver's QEMU.
   */
  async adoptAll(): Promise<AdoptReport> {
    let adopted = 0;
    let crashed = 0;
    let removed = 0;
    const unfinished = (rec: DomainRecord): boolean => rec.state === 'creating' || rec.state === 'dying' || rec.arriving === true;
    // One domain whose adoption fails (a full disk, a name taken) is said and left as it is: it
    // keeps no other domain, and not dom0d, from starting.
    const left = new Set<number>();
    const adopt = (rec: DomainRecord, body: () => Promise<void>): Promise<void> => this.jobs.run(rec.domid, 'adopt', body).catch((e: unknown) => {
      left.add(rec.domid);
      this.#log(`domain ${rec.domid} (${rec.name}): taking it over failed, left as it is: ${errorText(e)}`);
    });
    await Promise.all(this.registry.list().filter(unfinished).map((rec) => adopt(rec, async () => {
      if (rec.arriving === true && rec.state !== 'creating') {
        this.#log(`domain ${rec.domid} (${rec.name}) was arriving by migration when dom0d stopped: destroying it (its sender resumes its own copy)`);
      }
      await this.#finishDestroy(rec);
      removed++;
    })));
    await Promise.all(this.registry.list().filter((rec) => !left.has(rec.domid)).map((rec) => adopt(rec, async () => {
      const alive = await this.driver.adopt(rec);
      if (alive === 'gone' && rec.state !== 'shutdown') {
        await this.#stopped(rec, 'crash', { qemuPid: null });
        crashed++;
      } else {
        if (alive === 'stopped' && rec.state === 'running') await this.registry.transition(rec.domid, 'paused', {}, { bestEffort: true });
        if (rec.attaching !== undefined) await this.#finishDeviceChange(this.registry.require(rec.domid));
        await this.sched.place(rec).catch((e: unknown) => this.#log(`domain ${rec.domid}: placing it in its CPU pool's cgroups: ${errorText(e)}`));
        await this.driver.setVcpuAffinity?.(rec).catch((e: unknown) => this.#log(`domain ${rec.domid}: pinning its vCPUs again: ${errorText(e)}`));
        adopted++;
      }
    })));
    let recovered = 0;
    for (const o of await this.driver.orphans?.(new Set(this.registry.list().map((r) => r.domid))) ?? []) {
      // One that cannot be recorded (a full disk) is said, and keeps no other from dom0d.
      const rec = await this.#recover(o).catch((e: unknown) => {
        this.#log(`Domain ${o.domid}: its QEMU (pid ${o.pid}) runs without a record and could not be recorded: ${errorText(e)}`);
        return undefined;
      });
      if (rec === undefined) continue;
      this.#log(`Domain ${rec.domid} (${rec.name}): its record was lost; recovered its running QEMU (pid ${o.pid}) from what QEMU and ` +
        'xenstore tell: its config file is not known, and a guest reboot or crash leaves it shut down (preserved)');
      recovered++;
    }
    this.sched.prune();
    this.registry.announceAdopted();
    let restarts = 0;
    for (const intent of this.registry.restarts()) {
      const uuid = intent.init.config.c_info?.uuid as string;
      if (this.#restarts.has(uuid)) continue; // re-armed above, by a machine found dead
      const holder = this.registry.list().find((r) => r.uuid === uuid);
      if (holder !== undefined && holder.domid !== intent.from) {
        // The new domain was made before the intent was dropped: nothing left to do.
        await this.registry.dropRestart(uuid);
        continue;
      }
      if (holder !== undefined) {
        const retired = await this.jobs.run(holder.domid, 'restart', () => this.#retire(this.registry.require(holder.domid), intent)).catch((e: unknown) => {
          this.#log(`domain ${holder.domid} (${holder.name}): its restart is not resumed: ${errorText(e)}`);
          return false;
        });
        if (!retired) continue;
      }
      this.#scheduleRestart(intent);
      restarts++;
    }
    return { adopted, crashed, removed, restarts, recovered };
  }

  /**
   * An attach, detach or medium change a killed dom0d left (`DomainRecord.attaching`), finished: each device
   * being attached that the guest's frontend has connected (the attach's last step) joins the
   * config; any other is taken out again as a forced detach does (machine, vif, block script,
   * nodes). Each device being detached is asked for again, without waiting: one the machine no
   * longer has is released and leaves the config; one the guest still holds stays (its nodes
   * connected again), and its release, when the guest makes it, finishes the detach.
   */
  async #finishDeviceChange(rec: DomainRecord): Promise<void> {
    const target = rec.attaching as DomainConfig;
    const key = (d: DomainDevice): string => `${d.kind}:${deviceDevid(d) ?? deviceLabel(d)}`;
    const had = new Set(DEVICE_KINDS.flatMap((k) => devicesOf(rec.config, k)).map(key));
    const wanted = new Set(DEVICE_KINDS.flatMap((k) => devicesOf(target, k)).map(key));
    const at = { ...rec, config: target };
    let config = rec.config;
    for (const device of DEVICE_KINDS.flatMap((k) => devicesOf(rec.config, k)).filter((d) => !wanted.has(key(d)))) {
      const released = await this.driver.detachDevice?.(rec, device, { force: false, waitMs: 0 }).catch((e: unknown) => {
        this.#log(`domain ${rec.domid}: ${deviceLabel(device)} was being detached when dom0d stopped; the guest has not released it yet, it stays until it does (${errorText(e)})`);
        return false;
      });
      if (released === true) {
        config = replaceDevice(config, device, undefined);
        this.#log(`domain ${rec.domid}: ${deviceLabel(device)}, being detached when dom0d stopped, is gone`);
      }
    }
    for (const device of DEVICE_KINDS.flatMap((k) => devicesOf(target, k)).filter((d) => !had.has(key(d)))) {
      const info = await this.driver.deviceInfo?.(at, device).catch(() => undefined);
      if (info?.state === XENBUS_STATE.connected) {
        config = withDevice(config, device, rec.name);
        this.#log(`domain ${rec.domid}: ${deviceLabel(device)}, attached when dom0d stopped, is kept`);
        continue;
      }
      this.#log(`domain ${rec.domid}: ${deviceLabel(device)} was being attached when dom0d stopped: taking it out`);
      await this.driver.detachDevice?.(at, device, { force: true }).catch((e: unknown) => this.#log(`domain ${rec.domid}: taking out ${deviceLabel(device)}: ${errorText(e)}`));
    }
    // A CD-ROM drive whose medium was being changed gets the new medium again (the change starts
    // by taking out whatever the drive holds), or, failing that, the old one back.
    for (const device of devicesOf(target, 'vbd')) {
      const before = devicesOf(rec.config, 'vbd').find((d) => key(d) === key(device));
      if (device.kind !== 'vbd' || before?.kind !== 'vbd' || (device.disk.is_cdrom ?? 0) === 0) continue;
      if (before.disk.pdev_path === device.disk.pdev_path && before.disk.format === device.disk.format) continue;
      await this.#probe([device.disk.pdev_path ?? '']);
      const chains = { drive: await this.#chainOf(rec, before.disk) };
      try {
        const medium = await this.#checkDisk(rec, device.disk, `the medium of ${deviceLabel(device)}`);
        await this.driver.changeMedia?.(rec, before.disk, device.disk, { ...chains, medium });
        config = replaceDevice(config, before, device);
        this.#log(`domain ${rec.domid}: the medium of ${deviceLabel(device)}, being changed when dom0d stopped, is ${device.disk.pdev_path || 'none'}`);
      } catch (e: unknown) {
        this.#log(`domain ${rec.domid}: the medium change of ${deviceLabel(device)} cut short when dom0d stopped could not be finished (${errorText(e)}): putting back ${before.disk.pdev_path || 'none'}`);
        // Whatever the drive holds now goes; the medium that failed is not what is put back should this fail too.
        await this.driver.changeMedia?.(rec, { ...device.disk, pdev_path: '', format: 'empty' }, before.disk, { medium: chains.drive }).catch((u: unknown) => this.#log(`domain ${rec.domid}: putting back the medium of ${deviceLabel(device)}: ${errorText(u)}`));
      }
    }
    await this.registry.attaching(rec.domid, undefined, config);
  }

  /**
   * Records and adopts a machine found running without a record, under its xenstore name (made
   * unique) and uuid, with what its QEMU tells (memory, vCPUs, consoles). Its config file is not
   * known, so a reboot or crash only leaves it shut down.
   */
  async #recover(o: OrphanMachine): Promise<DomainRecord> {
    let name = o.name ?? `recovered-${o.domid}`;
    if (!this.registry.nameFree(name)) name = `${name.slice(0, 200)}-recovered-${o.domid}`;
    if (!this.registry.nameFree(name)) name = `recovered-${o.domid}`;
    const uuid = o.uuid !== undefined && !this.registry.list().some((r) => r.uuid === o.uuid) ? o.uuid : globalThis.crypto.randomUUID();
    const now = Date.now();
    const config = withLibxlDefaults({
      c_info: { name, uuid, type: o.type },
      b_info: { max_memkb: o.memKiB, target_memkb: o.memKiB, max_vcpus: o.vcpus, avail_vcpus: Array.from({ length: o.vcpus }, (_, i) => i) },
      on_poweroff: 'destroy', on_reboot: 'preserve', on_crash: 'preserve', on_watchdog: 'preserve',
    });
    const rec = await this.registry.recover({
      domid: o.domid, name, uuid, state: o.paused ? 'paused' : 'running', shutdownReason: null, config, noMonitor: false,
      source: RECOVERED_SOURCE, qemuPid: o.pid, qmpSocket: o.qmpSocket, vnc: null, consoles: o.consoles, startTime: now, createdAt: now,
      sched: defaultSched(0, o.vcpus),
    });
    await this.jobs.run(rec.domid, 'adopt', async () => {
      await this.driver.adopt(rec);
      await this.sched.place(rec).catch((e: unknown) => this.#log(`domain ${rec.domid}: placing it in Pool-0's cgroups: ${errorText(e)}`));
    });
    return rec;
  }

  /**
   * Creates a domain: reserves its name and domid, starts its machine paused, then runs it
   * unless `paused`. A failed start leaves nothing behind.
   */
  async create(init: NewDomain, options: {
    readonly paused?: boolean; readonly incoming?: StartOptions['incoming']; readonly holder?: number;
    /** With `incoming`: the machine whose state it is, as it was. */
    readonly layout?: StartOptions['layout'];
    /** This create is the pending restart of `init`'s uuid (which holds its name until then). */
    readonly restart?: boolean;
  } = {}): Promise<DomainRecord> {
    // Every path is looked at (synchronously) only after this; from the memory claim to the
    // reservation nothing waits.
    this.driver.checkConfig?.(init.config);
    checkDistinctDevices(init.config, init.config.c_info?.name ?? '');
    const inc = options.incoming;
    await this.#probe([...configPaths(init.config), ...(inc !== undefined && 'saveFile' in inc ? [inc.saveFile] : [])]);
    this.#claim(init);
    const sched = this.sched.schedFor(init);
    const disks = init.config.disks;
    // libxl keeps the pool it resolved in the stored config.
    const config = { ...init.config, c_info: { ...init.config.c_info, poolid: sched.pool }, ...(disks === undefined ? {} : { disks: disks.map(withDiskBackend) }) };
    // A migration may come from this host: its sender (same uuid) holds the same disks.
    const arriving = options.incoming?.migration === true;
    const holder = arriving && options.holder !== undefined ? { pid: options.holder, start: processStartTime(options.holder) } : undefined;
    const rec = await this.registry.reserve({ ...init, config, sched }, {
      ...arriving ? { sender: (r: DomainRecord) => this.#outgoing.has(r.domid) } : {}, restart: options.restart === true,
    });
    const migration = (phase: MigrationPhase, r: DomainRecord, detail?: Readonly<Record<string, unknown>>): void => {
      if (arriving) this.#migrationEvent(r, 'in', phase, detail);
    };
    migration('started', rec);
    return this.jobs.run(rec.domid, 'create', async () => {
      // An xl destroy of it meanwhile (it kills what it finds, but QEMU may not be there yet).
      const destroyed = (): void => {
        if (this.#destroying.has(rec.domid)) throw new Error('destroyed before its machine ran');
      };
      try {
        const checked: CheckedImage[] = [];
        // Its own devices are recorded already (reserve): the queue makes it see others' attaches.
        const { diskChains, ready } = await this.#hostChecks.run('host', async () => {
          this.#refuseBeingWritten(rec, rec.config.disks ?? []);
          const others = this.registry.list().filter((r) => !arriving || r.uuid !== rec.uuid || r.domid === rec.domid);
          const chains = await checkDisks(rec.config.disks ?? [], {
            domain: rec, ...diskContext(others, rec.domid, this.#opened), where: `disk= in ${rec.source}`, arriving, checked, ownDirs: this.#ownDirs,
          });
          await checkHostPaths(rec.config, rec.source, this.#hostPaths(rec, arriving));
          const prepared = await this.passthrough.prepare(rec.config, rec, this.#holders());
          return { diskChains: chains, ready: prepared === rec.config ? rec : await this.registry.update(rec.domid, { config: prepared }) };
        });
        this.sched.checkNew(ready);
        destroyed();
        const patch = await this.driver.start(ready, {
          diskChains, ...(options.incoming === undefined ? {} : { incoming: options.incoming, ...(options.layout === undefined ? {} : { layout: options.layout }) }),
        });
        // QEMU opened by name what was checked by name: a file swapped in meanwhile is refused
        // before the guest runs (its vCPUs are still stopped).
        if (typeof patch.qemuPid === 'number') {
          refuseSwappedImage(checked, patch.qemuPid, rec.name);
          this.#opened.learn(rec.domid, patch.qemuPid, checked);
        }
        const started = await this.registry.transition(rec.domid, 'paused', { ...patch, startTime: Date.now() });
        migration('completed', started);
        await this.sched.place(started);
        // After the placement: a cpuset the threads join resets their affinity on some kernels.
        await this.driver.setVcpuAffinity?.(started);
        await this.#options.beforeUnpause?.(started);
        if (holder !== undefined) this.#watchArrival(started.domid, holder);
        destroyed();
        if (options.paused === true) return started;
        await this.driver.unpause(started);
        return await this.registry.transition(rec.domid, 'running');
      } catch (e: unknown) {
        const now = this.registry.get(rec.domid);
        migration('failed', now ?? rec, { error: e instanceof Error ? e.message : String(e) });
        if (now !== undefined) await this.#finishDestroy(now);
        // Its QEMU's end (exited at start, closed QMP) says less than what ended it.
        if (this.#destroying.has(rec.domid)) {
          throw new ToolstackError('DOMAIN_STATE', `Domain '${rec.name}' (${rec.domid}) was destroyed while it was being created`, { cause: e, hint: 'an xl destroy of it ran meanwhile' });
        }
        throw e;
      }
    });
  }

  /**
   * `xl save`: the domain's state to `file` (after `header`); then, as xl does, the domain is
   * destroyed, unless `checkpoint` (it runs on, or stays paused with `leavePaused`) or
   * `leavePaused` alone (it stays, paused). Resolves with the file's size and the domain as it
   * is after (undefined when destroyed).
   */
  save(domid: number, o: {
    readonly file: string; readonly checkpoint: boolean; readonly leavePaused: boolean;
    /**
     * The file's header, made from the record as the save's job finds it (devices a job before it
     * added included) and its machine's layout (when the driver tells).
     */
    readonly header: (rec: DomainRecord, layout: MachineLayout | undefined) => Buffer;
  }): Promise<{ readonly bytes: number; readonly record: DomainRecord | undefined; readonly header: Buffer }> {
    return this.#job(domid, 'save', async (rec) => {
      const busy = this.#migrating(rec, 'save');
      if (busy !== undefined) throw busy;
      const wasRunning = rec.state === 'running';
      await this.#probe([o.file]);
      const save = this.#machine(rec, 'save');
      /** The file is complete; `finishing`: the save's own destroy of the domain is under way. */
      let written: boolean | 'finishing' = false;
      try {
        const { bytes, header } = await this.#writingTo(o.file, `Cannot write save file '${o.file}'`, 'SAVE_FILE', `the save of domain '${rec.name}' (${domid})`, async (out) => {
          const made = o.header(rec, await this.driver.machineLayout?.(rec));
          return { bytes: await save.call(this.driver, rec, out, made, wasRunning), header: made };
        });
        written = true;
        this.#log(`domain ${domid} (${rec.name}) saved to ${o.file} (${bytes} bytes)`);
        if (o.leavePaused) return { bytes, header, record: rec.state === 'paused' ? rec : await this.#machineIs(rec, 'paused') };
        if (o.checkpoint) {
          if (wasRunning) await this.driver.unpause(rec);
          return { bytes, header, record: rec };
        }
        written = 'finishing';
        await this.#finishDestroy(rec);
        return { bytes, header, record: undefined };
      } catch (e: unknown) {
        if (written === 'finishing') throw e;
        throw this.#destroyedDuring(rec, 'saved', e, written ? `the save file ${o.file} is complete: xl restore starts it again` : `nothing was written to ${o.file}`);
      }
    });
  }

  /**
   * `e` as the failure of an operation on `rec` that an `xl destroy` cut short (its QEMU killed
   * under it: QEMU's own words would say only that it went away): one line saying so, `hint` what
   * is left of the operation's work. Any other failure as it is.
   */
  #destroyedDuring(rec: DomainRecord, being: string, e: unknown, hint: string): unknown {
    if (!this.#destroying.has(rec.domid) && this.registry.get(rec.domid) !== undefined) return e;
    return new ToolstackError('DOMAIN_STATE', `Domain '${rec.name}' (${rec.domid}) was destroyed while it was being ${being}`, { cause: e, hint });
  }

  /**
   * `xl migrate`, the sending side: the domain's state streams live into named pipe `fifo`; once complete the
   * domain is paused here (its machine stopped) until the sending xl renames and destroys it, or
   * resumes it when the target fails.
   */
  migrateOut(domid: number, fifo: string, holder?: number): Promise<{ readonly record: DomainRecord; readonly stats: MigrationStats }> {
    // A second copy of a stopped machine would start a second instance of the guest at its target.
    const claimed = holder !== undefined && this.#outgoing.get(domid) === holder;
    if (!claimed) {
      const busy = this.#migrating(this.registry.require(domid), 'migrate');
      if (busy !== undefined) return Promise.reject(busy);
      // Its start time first: /proc that cannot be read now (EMFILE) fails the request, not the claim.
      const start = holder === undefined ? undefined : processStartTime(holder);
      this.#outgoing.set(domid, holder);
      if (holder !== undefined) this.#watchSender(domid, { pid: holder, start }, this.registry.require(domid).state === 'running');
    }
    return this.#job(domid, 'save', async (rec) => {
      this.#migrationEvent(rec, 'out', 'started');
      let stats: MigrationStats;
      try {
        stats = await this.#machine(rec, 'migrate').call(this.driver, rec, fifo);
      } catch (e: unknown) {
        this.#migrationEvent(this.registry.get(domid) ?? rec, 'out', 'failed', { error: e instanceof Error ? e.message : String(e) });
        // A machine that died under the migration is a crash, which its on_crash handles once
        // this job is over: nothing is to be resumed.
        if (rec.qemuPid !== null && !isPidAlive(rec.qemuPid)) {
          const policy = policyActionName(policyAction(rec.config, 'crash') ?? 'destroy');
          throw new ToolstackError('MACHINE_GONE', `Domain '${rec.name}' crashed during its migration: its QEMU exited`, {
            cause: e, hint: `on_crash=${policy} applies to it (xl list shows what followed)`,
          });
        }
        throw e;
      }
      this.#migrationEvent(this.registry.get(domid) ?? rec, 'out', 'completed', { ...stats });
      this.#log(`domain ${domid} (${rec.name}) migrated out: ${stats.totalMs} ms, downtime ${stats.downtimeMs} ms`);
      return { record: rec.state === 'paused' ? rec : await this.#machineIs(rec, 'paused'), stats };
    }).catch((e: unknown) => {
      this.#outgoing.delete(domid);
      throw e;
    });
  }

  /**
   * `xl migrate`'s first step: the domain's migration becomes `holder`'s (see `#outgoing`), or is
   * refused while another has it or when its machine cannot be migrated (checked now, before any
   * receiver has made a domain for it).
   */
  claimMigration(domid: number, holder: number): Promise<DomainRecord> {
    const busy = this.#migrating(this.registry.require(domid), 'migrate');
    if (busy !== undefined) return Promise.reject(busy);
    this.#outgoing.set(domid, holder);
    return this.#job(domid, 'save', async (rec) => {
      this.#machine(rec, 'migrate');
      await this.driver.checkMigratable?.(rec);
      this.#watchSender(domid, { pid: holder, start: processStartTime(holder) }, rec.state === 'running');
      return rec;
    }).catch((e: unknown) => {
      if (this.#outgoing.get(domid) === holder) this.#outgoing.delete(domid);
      throw e;
    });
  }

  /** The error (DOMAIN_STATE) of a `what` of `rec` while it migrates out (see `#outgoing`). */
  #migrating(rec: DomainRecord, what: string): ToolstackError | undefined {
    if (!this.#outgoing.has(rec.domid)) return undefined;
    return new ToolstackError('DOMAIN_STATE', `Cannot ${what} domain '${rec.name}': it is being migrated`, {
      hint: 'another xl migrate has it: once that ends the domain is gone from here, or runs on (xl unpause if it stays paused)',
    });
  }

  /**
   * Destroys an arriving domain (see `DomainRecord.arriving`) once the receiving xl that holds its
   * stream and handshake has ended without renaming it (killed, say): nothing else would.
   */
  #watchArrival(domid: number, holder: { readonly pid: number; readonly start: string | undefined }): void {
    const timer = setInterval(() => {
      const rec = this.registry.get(domid);
      if (rec?.arriving !== true) {
        clearInterval(timer);
        return;
      }
      if (!holderEnded(holder)) return;
      clearInterval(timer);
      this.#log(`domain ${domid} (${rec.name}) was arriving by migration and its receiving xl (pid ${holder.pid}) has ended: destroying it`);
      this.destroy(domid).catch((e: unknown) => this.#log(`domain ${domid}: destroying it: ${errorText(e)}`));
    }, ARRIVAL_CHECK_MS);
    timer.unref();
  }

  /**
   * Ends an outgoing migration whose sending xl has ended without ending it (killed, say): the
   * domain, stopped by the completed stream, is resumed (if it ran before) unless it was renamed
   * NAME--migratedaway, which the sending xl does just before it gives the target permission to
   * start: that one stays paused for its user to check both ends, as xl says then.
   */
  #watchSender(domid: number, holder: { readonly pid: number; readonly start: string | undefined }, wasRunning: boolean): void {
    // Watches this holder's migration only: once another has the domain, this one is over.
    const current = (): boolean => this.#outgoing.has(domid) && this.#outgoing.get(domid) === holder.pid;
    const timer = setInterval(() => {
      if (!current() || this.registry.get(domid) === undefined) {
        clearInterval(timer);
        return;
      }
      if (!holderEnded(holder)) return;
      clearInterval(timer);
      // Its xl read the stream: a migration still sending has no reader left.
      const now = this.registry.get(domid);
      if (now !== undefined && !now.name.endsWith(MIGRATED_AWAY)) this.driver.endOutgoingStream?.(now);
      // After the migration's own job: one still streaming ends first.
      void this.jobs.run(domid, 'migration-end', async () => {
        const rec = this.registry.get(domid);
        if (rec === undefined || !current()) return;
        this.#outgoing.delete(domid);
        if (rec.name.endsWith(MIGRATED_AWAY)) {
          this.#log(`domain ${domid} (${rec.name}): its sending xl (pid ${holder.pid}) ended after giving the target permission to start: it stays paused (check the target before resuming it)`);
          return;
        }
        if (!wasRunning || rec.state !== 'paused') return;
        this.#log(`domain ${domid} (${rec.name}): its sending xl (pid ${holder.pid}) ended before the target was given permission to start: resuming it`);
        // On this host the receiving QEMU holds the disks' locks until its domain goes (its own
        // xl gone too: see #watchArrival): tried again for 10 s.
        for (let deadline = monotonicMs() + 10_000; ; await new Promise((r) => setTimeout(r, 250))) {
          try {
            await this.driver.unpause(rec);
            break;
          } catch (e: unknown) {
            if (monotonicMs() > deadline) throw e;
          }
        }
        await this.#machineIs(rec, 'running');
      }).catch((e: unknown) => this.#log(`domain ${domid}: resuming it after its migration: ${errorText(e)}`));
    }, ARRIVAL_CHECK_MS);
    timer.unref();
  }

  /** The sending xl is done with the domain's outgoing migration (see `#outgoing`). */
  endMigration(domid: number): void {
    this.#outgoing.delete(domid);
  }

  /** A migration event of `record` on the feed (`detail`: its figures or its error). */
  #migrationEvent(record: DomainRecord, direction: 'in' | 'out', phase: MigrationPhase, detail: Readonly<Record<string, unknown>> = {}): void {
    this.events.emit({ type: 'migration', record, direction, phase, detail });
  }

  /**
   * Runs `body` with `file` taken by `writer` (a save or core dump under way), after checking
   * `outputFileProblem` of it against every live domain's disks (refused as `what: why`, code
   * `code`). The check and the taking are one step, the file known by the path it will be
   * written at (links followed): two saves to one file, checked before either took it (a QMP
   * round trip apart), or named through a link, both went on, and the second's rename replaced
   * the first's — a save whose domain was then gone.
   */
  async #writingTo<T>(file: string, what: string, code: 'SAVE_FILE' | 'IO', writer: string, body: (out: ReplacingFile) => Promise<T>): Promise<T> {
    // dom0's state directory (the records' parent) is its own, but for the dump directory.
    const dirs = { own: this.#ownDirs, allowed: this.#options.dumpDir === undefined ? [] : [this.#options.dumpDir] };
    const refusal = (why: string): ToolstackError => new ToolstackError(code, `${what}: ${why}`, { hint: 'give a path of its own (a new file, or one no domain has as a disk)' });
    // Nothing is made in a directory the file may not go to (not even the new file, for a moment).
    const out = replacingFile(file, what, code, (real) => {
      const why = outputFileProblem(real, [], dirs);
      if (why !== undefined) throw refusal(why);
    });
    let taken = false;
    try {
      // Among the host checks: a disk attached meanwhile is either recorded (then seen here) or
      // checked after (then it sees this file taken). Checked where the file goes as its
      // directory was opened: that is where it is written, whatever the names say by then.
      await this.#hostChecks.run('host', () => {
        const other = this.#writing.get(out.real);
        const why = other !== undefined ? `${other} is being written there` : outputFileProblem(out.real, diskContext(this.registry.list(), undefined, this.#opened).inUse, dirs);
        if (why !== undefined) throw refusal(why);
        this.#writing.set(out.real, writer);
        taken = true;
        return Promise.resolve();
      });
      return await body(out);
    } finally {
      if (taken) this.#writing.delete(out.real);
      out.close();
    }
  }

  /** `xl dump-core`: the guest's memory to `file` (absolute) as an ELF core. */
  dumpCore(domid: number, file: string): Promise<DomainRecord> {
    return this.#job(domid, 'machine', async (rec) => {
      await this.#probe([file]);
      const dump = this.#machine(rec, 'coreDump');
      await this.#writingTo(file, `Cannot dump the core of domain '${rec.name}' to '${file}'`, 'IO', `the core dump of domain '${rec.name}' (${domid})`, (out) => dump.call(this.driver, rec, out))
        .catch((e: unknown) => {
          throw this.#destroyedDuring(rec, 'dumped', e, `nothing was written to ${file}`);
        });
      return rec;
    });
  }

  /** `xl vcpu-list`: every vCPU slot of the domain, the plugged ones as the host runs their threads (a read: no job). */
  async listVcpus(domid: number): Promise<{ readonly record: DomainRecord; readonly vcpus: VcpuInfo[] }> {
    const record = this.registry.require(domid);
    return { record, vcpus: vcpuRows(record.config, record.state, await this.driver.vcpus?.(record) ?? []) };
  }

  /**
   * `xl vcpu-pin`: vCPU `vcpu` (or every one) gets hard affinity `hard`, applied to its thread
   * now, and soft affinity `soft` (kept and shown: there is no scheduler preference to give);
   * undefined leaves one as it is. Both are stored in the config, so that every boot and every
   * re-adoption applies them. libxl's lines on failure (for `all`, one pair per vCPU, as
   * libxl_set_vcpuaffinity_all reports them); resolves with libxl's warnings.
   */
  setVcpuAffinity(
    domid: number,
    change: { readonly vcpu: number | 'all'; readonly hard?: readonly number[]; readonly soft?: readonly number[] },
  ): Promise<{ readonly record: DomainRecord; readonly warnings: readonly string[] }> {
    return this.#job(domid, 'vcpu', async (rec) => {
      const pin = this.#machine(rec, 'setVcpuAffinity');
      const max = domainVcpus(rec.config).max;
      const targets = change.vcpu === 'all' ? Array.from({ length: max }, (_, i) => i) : [change.vcpu];
      const failed = (e: ToolstackError): ToolstackError => change.vcpu === 'all'
        ? new ToolstackError('VCPU', e.message, {
          cause: e, lines: targets.flatMap((i) => [...(e.lines ?? []), `libxl: warning: libxl_sched.c:124:libxl_set_vcpuaffinity_all: Domain ${domid}:Failed to set affinity for ${i}`]),
          ...(e.hint === undefined ? {} : { hint: e.hint }),
        })
        : e;
      if (change.hard === undefined && change.soft === undefined) {
        throw failed(new ToolstackError('VCPU', `Cannot set the affinity of vCPU ${change.vcpu} of domain '${rec.name}': neither a hard nor a soft affinity is given`, {
          lines: [], hint: 'give a hard or a soft affinity (a CPU list, or all); - leaves one as it is',
        }));
      }
      if (change.vcpu !== 'all' && change.vcpu >= max) {
        throw new ToolstackError('VCPU', `Cannot set the affinity of vCPU ${change.vcpu} of domain '${rec.name}': it has vCPUs 0-${max - 1}`, {
          lines: [affinityRefusedLine(domid, 'Invalid argument')], hint: `vCPUs are numbered from 0 to maxvcpus-1 (${max - 1}; xl vcpu-list ${rec.name})`,
        });
      }
      const all = hostCpuMap();
      const config = withVcpuAffinity(rec.config, { ...change, all });
      if (change.hard !== undefined) {
        try {
          await pin.call(this.driver, { ...rec, config }, targets);
        } catch (e: unknown) {
          throw e instanceof ToolstackError ? failed(e) : e;
        }
      }
      let record: DomainRecord;
      try {
        record = await this.registry.update(domid, { config });
      } catch (e: unknown) {
        const before = rec.config.b_info?.vcpu_hard_affinity === undefined ? withVcpuAffinity(rec.config, { vcpu: 'all', hard: all, all }) : rec.config;
        if (change.hard !== undefined) await pin.call(this.driver, { ...rec, config: before }, targets).catch((u: unknown) => this.#log(`domain ${domid}: undoing a vCPU pin: ${errorText(u)}`));
        throw e;
      }
      const online = new Set(onlineCpus());
      const warnings = change.soft === undefined || change.soft.some((c) => online.has(c)) ? [] : targets.map((i) =>
        `libxl: warning: libxl_sched.c:84:libxl__set_vcpuaffinity: Domain ${domid}:All cpus in soft affinity of vcpu ${i} are unreachable. Only hard affinity will be considered for scheduling`);
      return { record, warnings };
    });
  }

  /**
   * `xl vcpu-set`: vCPUs 0..count-1 online (libxl_set_vcpuonline's rules: 1 to maxvcpus). The
   * stored config follows (`avail_vcpus`: the next boot has them); vCPUs plugged join the
   * domain's cgroups and get their affinity. Resolves with the vCPUs the guest still holds.
   */
  setVcpus(domid: number, count: number): Promise<{ readonly record: DomainRecord; readonly pending: readonly number[] }> {
    return this.#job(domid, 'vcpu', async (rec) => {
      const set = this.#machine(rec, 'setVcpus');
      const max = domainVcpus(rec.config).max;
      if (count < 1 || count > max) {
        const line = count < 1 ? `libxl: error: libxl_domain.c:1867:libxl_set_vcpuonline: Domain ${domid}:Requested 0 VCPUs!`
          : `libxl: error: libxl_domain.c:1873:libxl_set_vcpuonline: Domain ${domid}:Requested ${count} VCPUs, however maxcpus is ${max}!`;
        throw new ToolstackError('VCPU', `Cannot set the vCPUs of domain '${rec.name}' to ${count}: it may have 1 to ${max} (maxvcpus)`, {
          lines: [line],
          hint: `maxvcpus= in the config sets how many vCPUs the domain can have; it takes effect when the domain is created`,
        });
      }
      const { pending } = await set.call(this.driver, rec, count);
      const b = rec.config.b_info ?? {};
      const record = await this.registry.update(domid, { config: { ...rec.config, b_info: { ...b, avail_vcpus: Array.from({ length: count }, (_, i) => i) } } });
      await this.sched.place(record);
      await this.driver.setVcpuAffinity?.(record);
      return { record, pending };
    });
  }

  /** `xl qemu-monitor-command`: resolves with QEMU's output. */
  monitorCommand(domid: number, command: string): Promise<string> {
    return this.#job(domid, 'machine', (rec) => this.#machine(rec, 'monitorCommand').call(this.driver, rec, command));
  }

  /**
   * Memory the guests hold, KiB: each one's target, or more where its balloon reports more (one
   * still giving memory back). Never less: a guest could report anything, and the host's claim
   * (below) must not count memory a guest may still take as free.
   */
  guestsKiB(): number {
    return this.registry.list().reduce((sum, r) => sum + Math.max(this.driver.currentMemKiB?.(r) ?? 0, domainMemory(r.config).targetKiB), 0);
  }

  /**
   * Xen's `claim_mode` (xl.conf, on by default): a domain whose memory the host cannot give
   * fails before anything is made, instead of a host that swaps or kills later. Synchronous, so
   * that two creates at once cannot both count the same free memory (the record it reserves next
   * counts for the one after).
   */
  #claim(init: NewDomain): void {
    if (init.config.b_info?.claim_mode === false) return;
    const need = domainMemory(init.config).targetKiB;
    const free = freeForGuestsKiB(readHostMemory(), this.guestsKiB());
    if (need <= free) return;
    const mib = (kib: number): number => Math.floor(kib / 1024);
    throw new ToolstackError('MEMORY', `Cannot create domain '${init.config.c_info?.name ?? ''}': it needs ${mib(need)} MiB and the host has ${mib(free)} MiB free for guests (claim_mode)`, {
      hint: 'give it less memory=, free some (xl destroy, xl mem-set), or allow overcommit with claim_mode=0 in xl.conf',
    });
  }

  /**
   * Records a running domain that has no machine: bookkeeping only, for tests and benchmarks of
   * the registry, API and re-adoption (dom0d serves it only with DOM0_TEST_API=1).
   */
  async register(init: NewDomain): Promise<DomainRecord> {
    const rec = await this.registry.reserve(init);
    return this.jobs.run(rec.domid, 'register', () => this.registry.transition(rec.domid, 'running', { startTime: Date.now() }));
  }

  /**
   * Destroys a domain. It pre-empts the domain's queue: the machine is killed at once (a job
   * stuck on a wedged QEMU then fails), and the clean-up runs as the next job. A domain that the
   * job before it finished off already is simply gone.
   */
  destroy(domid: number): Promise<void> {
    this.#destroying.add(domid);
    this.driver.kill?.(this.registry.require(domid));
    return this.jobs.run(domid, 'destroy', async () => {
      const rec = this.registry.get(domid);
      if (rec !== undefined) await this.#finishDestroy(rec);
    }).finally(() => this.#destroying.delete(domid));
  }

  pause(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'pause', async (rec) => {
      await this.driver.pause(rec);
      return this.#machineIs(rec, 'paused');
    });
  }

  /**
   * `xl unpause`. While an xl migrate that still runs holds the domain's migration, only it may
   * (`holder`: its pid): the handshake leaves the sender paused while the receiver is told to
   * start, and another client's unpause then ran the guest at both ends.
   */
  unpause(domid: number, holder?: number): Promise<DomainRecord> {
    // One unpause of a guest at a time (by uuid): each domain's job is its own, so two at once of
    // two copies both found the other paused and both ran.
    return this.#job(domid, 'unpause', (rec) => this.#oneGuest.run(rec.uuid, async () => {
      const claim = this.#outgoing.get(domid);
      if (claim !== undefined && claim !== holder && pidAliveOr(claim, true)) {
        throw new ToolstackError('DOMAIN_STATE', `Cannot unpause domain '${rec.name}': it is being migrated (by xl process ${claim})`, {
          hint: `that xl migrate resumes it here if the migration fails; if it hangs, end it (kill ${claim}), then xl unpause ${domid}`,
        });
      }
      // Two domains share a uuid only across a migration within this host: one guest, which must
      // not run twice (the stopped copy of a sender whose xl died after "go", say).
      const twin = this.registry.list().find((r) => r.uuid === rec.uuid && r.domid !== domid && r.state === 'running');
      if (twin !== undefined) {
        throw new ToolstackError('DOMAIN_STATE', `Cannot unpause domain '${rec.name}': domain '${twin.name}' (${twin.domid}) runs the same guest (uuid ${rec.uuid})`, {
          hint: `they are the two ends of a migration: destroy the copy that must not run (xl destroy ${domid})`,
        });
      }
      await this.driver.unpause(rec);
      this.#outgoing.delete(domid);
      return this.#machineIs(rec, 'running');
    }));
  }

  /**
   * Records that `rec`'s machine was just stopped (`paused`) or resumed (`running`). When that
   * cannot be saved (a full disk: NO_SPACE, or IO) the machine is put back as it was and the error
   * stands: the record never says other than the machine does (a guest stopped under a record that
   * says running could not even be unpaused).
   */
  async #machineIs(rec: DomainRecord, to: 'paused' | 'running'): Promise<DomainRecord> {
    try {
      return await this.registry.transition(rec.domid, to);
    } catch (e: unknown) {
      if (isToolstackError(e, 'NO_SPACE') || isToolstackError(e, 'IO')) {
        await (to === 'paused' ? this.driver.unpause(rec) : this.driver.pause(rec))
          .catch((u: unknown) => this.#log(`domain ${rec.domid}: putting its machine back after its state could not be saved: ${errorText(u)}`));
      }
      throw e;
    }
  }

  /**
   * `xl suspend`: Xen's suspend of a guest without PV drivers — the hypervisor stops it where it
   * is (QMP `stop`: its memory and devices stay in the machine) and it is shut down with reason
   * `suspend`, which no on_* action follows (xl's monitor logs it and keeps waiting).
   */
  suspend(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'suspend', async (rec) => {
      if (rec.state !== 'paused') await this.driver.pause(rec);
      await this.#stopped(rec, 'suspend');
      return this.registry.require(domid);
    });
  }

  /** `xl resume`: a suspended domain runs on from where it stopped (QMP `cont`). */
  resume(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'resume', async (rec) => {
      if (rec.shutdownReason !== 'suspend') {
        throw new ToolstackError('DOMAIN_STATE', `Cannot resume domain '${rec.name}': it is shut down (${rec.shutdownReason ?? 'no reason'}), not suspended`, {
          hint: 'only a domain xl suspend stopped resumes; xl destroy removes a shut-down one',
        });
      }
      await this.driver.unpause(rec);
      await this.driver.resumed?.(rec);
      return this.registry.transition(domid, 'running');
    });
  }

  /**
   * `xl config-update`: `config` is kept for the domain's next restart (on_reboot and the like),
   * which is built from it instead of the running config; the name and uuid stay the domain's.
   */
  updateConfig(domid: number, config: DomainConfig): Promise<DomainRecord> {
    return this.#job(domid, 'config-update', () => this.registry.update(domid, { updatedConfig: config }));
  }

  /**
   * `xl shutdown`: the request is made; a running domain is shutting down until its guest is off.
   * A paused one stays paused (its guest acts on the request once unpaused, as in Xen): before,
   * it showed as running and could not be unpaused.
   */
  shutdown(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'shutdown', async (rec) => {
      await this.driver.shutdown(rec);
      return rec.state === 'running' ? this.registry.transition(domid, 'shutting-down') : rec;
    });
  }

  reboot(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'reboot', async (rec) => {
      await this.driver.reboot(rec);
      return this.registry.require(domid);
    });
  }

  /**
   * Renames the domain; with `from`, only while it is named so (a migrating xl's rename of the
   * domain it sends: one renamed meanwhile fails that migration, before the receiver may start).
   */
  rename(domid: number, name: string, from?: string): Promise<DomainRecord> {
    return this.#job(domid, 'rename', async (old) => {
      if (from !== undefined && old.name !== from) {
        throw new ToolstackError('DOMAIN_STATE', `Cannot rename domain ${domid}: it is named '${old.name}' now, not '${from}'`, { hint: 'it was renamed meanwhile' });
      }
      const rec = await this.registry.rename(domid, name);
      await this.driver.renamed?.(rec, old);
      return rec;
    });
  }

  /** `xl trigger`: resolves with how the machine delivered it. */
  trigger(domid: number, trigger: TriggerName, vcpu: number): Promise<{ readonly record: DomainRecord; readonly via: string }> {
    return this.#job(domid, 'trigger', async (rec) => {
      const vcpus = domainVcpus(rec.config).online;
      if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= vcpus) {
        throw new ToolstackError('USAGE', `Cannot send trigger ${trigger} to vcpu ${vcpu} of domain '${rec.name}': it has ${vcpus} vcpu(s)`);
      }
      return { record: rec, via: await this.#machine(rec, 'trigger').call(this.driver, rec, trigger, vcpu) };
    });
  }

  /** `xl sysrq`: resolves with the xenstore node written and the keys pressed. */
  sysrq(domid: number, key: string): Promise<{ readonly record: DomainRecord; readonly xenstorePath: string; readonly keys: readonly string[] }> {
    return this.#job(domid, 'sysrq', async (rec) => ({ record: rec, ...await this.#machine(rec, 'sysrq').call(this.driver, rec, key) }));
  }

  /** The domain's machine as a migration's receiver must rebuild it (see `MachineLayout`). */
  machineLayout(domid: number): Promise<{ readonly record: DomainRecord; readonly layout: MachineLayout }> {
    return this.#job(domid, 'machine', async (rec) => ({ record: rec, layout: await this.#machine(rec, 'machineLayout').call(this.driver, rec) }));
  }

  /** Where the domain's VNC server listens; undefined when it has none. */
  vnc(domid: number): Promise<{ readonly record: DomainRecord; readonly vnc: { readonly host: string; readonly port: number } | undefined }> {
    return this.#job(domid, 'console', async (rec) => ({ record: rec, vnc: await this.#machine(rec, 'vnc').call(this.driver, rec) }));
  }

  /**
   * `xl mem-set` / `mem-max` with libxl's rules: the target at most the static maximum, the
   * maximum at least the target. The stored config follows (`target_memkb`, `max_memkb`), so the
   * domain's next boot has them, as xl's reload of the live config before a restart gives Xen.
   */
  setMemory(domid: number, change: { readonly targetKiB?: number; readonly maxKiB?: number }): Promise<MemoryChange> {
    return this.#job(domid, 'memory', async (rec) => {
      const now = domainMemory(rec.config);
      const targetKiB = change.targetKiB ?? now.targetKiB;
      const maxKiB = change.maxKiB ?? now.maxKiB;
      if (targetKiB > maxKiB) {
        const rule = change.targetKiB === undefined
          ? 'memory_static_max must be greater than or equal to memory_dynamic_max'
          : 'memory_dynamic_max must be less than or equal to memory_static_max';
        throw new ToolstackError('MEMORY', `Domain ${domid}:${rule}: target ${targetKiB} KiB, maximum ${maxKiB} KiB`, {
          hint: change.targetKiB === undefined ? `lower the target first (xl mem-set ${rec.name} SIZE)` : `raise the maximum first (xl mem-max ${rec.name} SIZE)`,
        });
      }
      const { machineKiB } = await this.#machine(rec, 'setMemory').call(this.driver, rec, { targetKiB, maxKiB });
      const b = rec.config.b_info ?? {};
      const record = await this.registry.update(domid, { config: { ...rec.config, b_info: { ...b, target_memkb: targetKiB, max_memkb: maxKiB } } });
      return { record, targetKiB, maxKiB, machineKiB };
    });
  }

  /*
   * Hot-plug: the same contract for every device kind (devices.ts), driven through the driver's
   * attachDevice / detachDevice / releaseDevice / changeMedia / deviceInfo.
   * - `attachDevice`: a job (ACTION_STATES.hotplug). libxl's defaults are applied (a vif's
   *   devid, MAC, bridge: `withDeviceDefaults`). The device must be new to the domain
   *   (DEVICE_EXISTS, by kind and devid); a disk is checked on the host (`checkDisks`: file,
   *   format, image locks), a PCI or USB device too (`Passthrough`); the driver adds it to the machine and xenstore, all or nothing; then
   *   the record's config gains it (persisted). A failure leaves record, machine and xenstore as
   *   they were.
   * - `detachDevice`: the device `ref` names (`findDevice`; DEVICE_NOT_FOUND), removed by the
   *   driver (which waits for the guest, DEVICE_TIMEOUT), then from the record; with `force` the
   *   record loses it even while the guest still holds it.
   * - A release the guest makes after its detach returned comes back through the device sink as
   *   a job: the driver frees what is left, and the record loses the device if it still has it.
   * - `listDevices`: the record's devices of a kind that have xenstore nodes, with what xenstore
   *   holds of each (a read: no job).
   */

  /**
   * Adds `device` to the running domain; resolves with it as the domain now has it. A PCI spec
   * naming every function of a device (`BB:DD.*`) adds each, function 0 last; all or none.
   */
  attachDevice(domid: number, spec: DomainDevice): Promise<{ readonly record: DomainRecord; readonly entry: DeviceEntry | undefined }> {
    return this.#job(domid, 'hotplug', async (rec) => {
      const attach = this.#machine(rec, 'attachDevice');
      const { devices, chain, config } = await this.#hostChecks.run('host', async () => {
        const checked = await this.#onHost(rec, withDeviceDefaults(rec.config, spec));
        // A device a forced detach left with the guest still holds its kind and devid in QEMU.
        for (const d of checked.devices) {
          const devid = deviceDevid(d);
          const held = devid === undefined || rec.lingering === undefined ? undefined : deviceByDevid(rec.lingering, d.kind, devid);
          if (held !== undefined) {
            throw new ToolstackError('DEVICE_EXISTS', `Cannot add ${deviceLabel(d)} to domain '${rec.name}': its guest still holds ${deviceLabel(held)}, which a forced detach took out`, {
              hint: 'it goes once the guest lets it go (or the domain is destroyed): choose another',
            });
          }
        }
        const target = checked.devices.reduce((c, d) => withDevice(c, d, rec.name), rec.config);
        await this.registry.attaching(domid, target);
        return { ...checked, config: target };
      });
      const done: Array<{ readonly at: DomainRecord; readonly device: DomainDevice }> = [];
      let updated: DomainRecord;
      try {
        let at = rec;
        for (const device of devices) {
          await attach.call(this.driver, at, device, chain);
          done.push({ at, device });
          at = { ...at, config: withDevice(at.config, device, rec.name) };
        }
        updated = await this.registry.attaching(domid, undefined, config);
      } catch (e: unknown) {
        for (const { at, device } of done.reverse()) {
          await this.driver.detachDevice?.(at, device, { force: true }).catch((u: unknown) => this.#log(`domain ${domid}: undoing the attach of ${deviceLabel(device)}: ${errorText(u)}`));
        }
        await this.registry.attaching(domid, undefined).catch((u: unknown) => this.#log(`domain ${domid}: dropping its attach in progress: ${errorText(u)}`));
        throw e;
      }
      for (const d of devices) this.events.emit({ type: 'device', record: updated, action: 'attached', kind: d.kind, devid: deviceDevid(d) });
      return { record: updated, entry: await this.#entry(updated, devices[devices.length - 1] as DomainDevice) };
    });
  }

  /**
   * What the host must have for `device` to join `rec`, checked (and, for PCI, resolved: a
   * name, every function, `seize`): the devices to attach, in order, and a disk's checked chain.
   */
  async #onHost(rec: DomainRecord, device: DomainDevice): Promise<{ readonly devices: DomainDevice[]; readonly chain?: CheckedChain }> {
    switch (device.kind) {
      case 'vbd': {
        await this.#probe([device.disk.pdev_path ?? '']);
        const disk = withDiskBackend(device.disk);
        const chain = await this.#checkDisk(rec, disk, 'the disk spec');
        return { devices: [{ kind: 'vbd', disk }], ...(chain === undefined ? {} : { chain }) };
      }
      case 'pci': return { devices: (await this.passthrough.preparePci(device.pci, rec, this.#holders())).map((pci) => ({ kind: 'pci', pci })) };
      case 'usbdev': {
        const h = device.usbdev.u?.hostdev ?? {};
        this.passthrough.checkUsb(`hostbus=${h.hostbus ?? 0},hostaddr=${h.hostaddr ?? 0}`, h.hostbus ?? 0, h.hostaddr ?? 0, rec, usbHolders(this.#holders()));
        return { devices: [device] };
      }
      case 'vif':
      case 'vusb':
      case 'vkbd': return { devices: [device] };
    }
  }

  /** `xl pci-assignable-add`: the device bound to vfio-pci (see `Passthrough.assignableAdd`). */
  addAssignablePci(bdf: string, name: string | undefined): Promise<HostDeviceChange> {
    return this.passthrough.assignableAdd({ ...parsePciBdf(bdf), ...(name === undefined ? {} : { name }) });
  }

  /** `xl pci-assignable-remove`: refused while a running domain has the device. */
  removeAssignablePci(ident: string, rebind: boolean): Promise<HostDeviceChange> {
    return this.passthrough.assignableRemove(ident, rebind, this.#holders());
  }

  /** `xl pci-assignable-list`: the devices bound to vfio-pci that no running domain has. */
  listAssignablePci(): Promise<AssignablePciList> {
    return this.passthrough.assignableList(this.#holders());
  }

  /** The domains whose machines run: what they hold of the host's devices. */
  /**
   * The domains that hold host devices: those with a live machine, and those being created (a
   * machine to come); each with what it is attaching (a device being added holds its device).
   */
  #holders(): DeviceHolder[] {
    return this.registry.list()
      .filter((r) => r.state === 'creating' || (r.qemuPid !== null && pidAliveOr(r.qemuPid, true)))
      .map((r) => (r.attaching === undefined ? r : { ...r, config: r.attaching }));
  }

  /** Removes the device of `kind` that `ref` names (a disk: vdev or devid). */
  detachDevice(domid: number, kind: DeviceKind, ref: string, options: { readonly force: boolean }): Promise<{ readonly record: DomainRecord; readonly device: DomainDevice; readonly released: boolean }> {
    return this.#job(domid, 'hotplug', async (rec) => {
      const detach = this.#machine(rec, 'detachDevice');
      const device = findDevice(rec.config, kind, ref);
      if (device === undefined) throw deviceNotFound(kind, ref, rec.name);
      if (device.kind === 'vbd' && device.disk.specification === 'virtio') {
        throw new ToolstackError('NOT_SUPPORTED', "Hotunplug isn't supported for specification virtio", {
          hint: 'a disk with specification=virtio stays until the domain is destroyed, as in Xen',
        });
      }
      // Function 0 of a multi-function slot takes the slot's other functions along (QEMU ejects the slot).
      const gone = [device, ...slotMates(rec.config, device)];
      const target = gone.reduce((c, d) => replaceDevice(c, d, undefined), rec.config);
      await this.registry.attaching(domid, target);
      let released: boolean;
      try {
        released = await detach.call(this.driver, rec, device, options);
      } catch (e: unknown) {
        await this.registry.attaching(domid, undefined).catch((u: unknown) => this.#log(`domain ${domid}: dropping its detach in progress: ${errorText(u)}`));
        throw e;
      }
      let record = await this.registry.attaching(domid, undefined, target);
      // Forced, and the guest holds on: QEMU keeps the device (and its image) until it lets go.
      if (!released) record = await this.registry.update(domid, { lingering: gone.reduce((c, d) => withDevice(c, d, rec.name), record.lingering ?? {}) });
      for (const d of gone) this.events.emit({ type: 'device', record, action: 'detached', kind: d.kind, devid: deviceDevid(d) });
      return { record, device, released };
    });
  }

  /** The domain's devices of `kind` that xenstore has nodes for, in config order. */
  async listDevices(domid: number, kind: DeviceKind): Promise<{ readonly record: DomainRecord; readonly entries: DeviceEntry[] }> {
    const record = this.registry.require(domid);
    const entries = await Promise.all(devicesOf(record.config, kind).map((d) => this.#entry(record, d)));
    return { record, entries: entries.filter((e): e is DeviceEntry => e !== undefined) };
  }

  /**
   * `xl cd-insert` / `cd-eject`: puts the medium of `medium` (format `empty`: none) into the
   * domain's CD-ROM drive of the same vdev; the record's config follows (the drive's entry
   * takes the new path and format), as libxl's stored config does.
   */
  changeMedia(domid: number, medium: DiskDevice): Promise<{ readonly record: DomainRecord; readonly disk: DiskDevice }> {
    return this.#job(domid, 'hotplug', async (rec) => {
      const change = this.#machine(rec, 'changeMedia');
      const vdev = medium.vdev ?? '';
      if (rec.config.c_info?.type !== 'hvm') {
        throw new ToolstackError('NOT_SUPPORTED', `Cannot change the medium of ${vdev} in domain '${rec.name}': cdrom-insert requires an HVM domain`, {
          hint: 'a PV or PVH domain\'s CD-ROM is a read-only virtio disk: block-detach it and block-attach the new image',
        });
      }
      const drive = (rec.config.disks ?? []).find((d) => (d.is_cdrom ?? 0) !== 0 && d.vdev === vdev);
      if (drive === undefined) {
        throw new ToolstackError('DEVICE_NOT_FOUND', `Cannot change the medium of ${vdev} in domain '${rec.name}': Virtual device not found`, {
          hint: `it has no CD-ROM drive ${vdev} (xl block-list ${rec.name}; a drive is made at create: disk = [ ',${vdev}:cdrom,r' ])`,
        });
      }
      // The new medium's own backend: an ISO file into a drive that held a device (phy) is a file.
      const { backend: _old, ...rest } = drive;
      await this.#probe([medium.pdev_path ?? '']);
      const disk: DiskDevice = withDiskBackend({ ...rest, pdev_path: medium.pdev_path ?? '', format: medium.format ?? 'raw', ...(medium.backend === undefined ? {} : { backend: medium.backend }) });
      const target = replaceDevice(rec.config, { kind: 'vbd', disk: drive }, { kind: 'vbd', disk });
      const chains = await this.#hostChecks.run('host', async () => {
        // The drive's own medium goes back should the new one fail to go in (an eject cannot).
        const checked = { medium: await this.#checkDisk(rec, disk, 'the cd-insert arguments'), drive: diskHasMedium(disk) ? await this.#chainOf(rec, drive) : undefined };
        // Recorded before the drive is touched, as an attach is: a dom0d killed meanwhile finishes it.
        await this.registry.attaching(domid, target);
        return checked;
      });
      try {
        await change.call(this.driver, rec, drive, disk, chains);
      } catch (e: unknown) {
        await this.registry.attaching(domid, undefined).catch((u: unknown) => this.#log(`domain ${domid}: dropping its medium change in progress: ${errorText(u)}`));
        throw e;
      }
      const record = await this.registry.attaching(domid, undefined, target);
      return { record, disk };
    });
  }

  /**
   * What the other domains' QEMUs listen on, for `checkHostPaths` of `rec`: an arriving domain's
   * sender (same uuid) and machines stopped for good yield theirs.
   */
  #hostPaths(rec: DomainRecord, arriving: boolean): HostPathContext {
    // A path yields only when every domain holding it does (a restarted domain beside its preserved self does not).
    const taken = new Map<string, string>();
    const holding = new Map<string, boolean>();
    for (const r of this.registry.list()) {
      if (r.domid === rec.domid) continue;
      const yields = (arriving && r.uuid === rec.uuid) || r.state === 'shutdown' || r.state === 'dying';
      for (const path of listeningPaths(r.config)) {
        if (!yields || !taken.has(path)) taken.set(path, `domain '${r.name}' (${r.domid})`);
        holding.set(path, (holding.get(path) ?? true) && yields);
      }
    }
    return { taken, yielding: new Set([...holding].filter(([, y]) => y).map(([p]) => p)), ownDirs: this.#ownDirs };
  }

  /** This dom0's own directories: its state directory (the records' parent) and `ownDirs`. */
  get #ownDirs(): string[] {
    return [dirname(this.#options.domainsDir), ...(this.#options.ownDirs ?? [])];
  }

  /**
   * `probePaths` of `paths` and of the live domains' disk images whose identity is not known yet
   * (`OpenedImages`: they are looked at by the disk and output checks, which find a clash by
   * inodes): an image on a mount that hung since would otherwise block dom0d in the next create's,
   * attach's or save's checks. Those probed are learnt, and not looked at again.
   */
  async #probe(paths: readonly string[]): Promise<void> {
    const records = this.registry.list();
    this.#opened.keepOnly(new Set(records.map((r) => r.domid)));
    const unknown = diskContext(records, undefined, this.#opened).inUse.filter((u) => u.id === undefined && (u.disk.pdev_path ?? '') !== '');
    await probePaths([...paths, ...unknown.map((u) => ({
      path: u.disk.pdev_path ?? '', whose: `the image of disk ${u.disk.vdev ?? '?'} of domain '${u.name}' (${u.domid})`,
    }))]);
    for (const u of unknown) {
      const pid = this.registry.get(u.domid)?.qemuPid;
      const id = imageIdentity(u.disk.pdev_path ?? '');
      if (typeof pid === 'number' && id !== undefined) this.#opened.learn(u.domid, pid, [{ vdev: u.disk.vdev ?? '', path: u.disk.pdev_path ?? '', id }]);
    }
  }

  /**
   * `checkDisks` of one disk for `rec`, against every live domain's disks: its chain (none without
   * media). Its path is probed (`#probe`) before: a caller looks at it first (`withDiskBackend`).
   */
  async #checkDisk(rec: DomainRecord, disk: DiskDevice, where: string): Promise<CheckedChain | undefined> {
    this.#refuseBeingWritten(rec, [disk]);
    const checked: CheckedImage[] = [];
    const chain = (await checkDisks([disk], { domain: rec, ...diskContext(this.registry.list(), undefined, this.#opened), where, checked, ownDirs: this.#ownDirs }))[disk.vdev ?? ''];
    if (rec.qemuPid !== null) this.#opened.learn(rec.domid, rec.qemuPid, checked);
    return chain === undefined ? undefined : { ...chain, opened: checked };
  }

  /**
   * Refuses a disk whose image a save or core dump is writing now (its rename would swap the
   * image from under the guest at the end).
   */
  #refuseBeingWritten(rec: DomainRecord, disks: readonly DiskDevice[]): void {
    if (this.#writing.size === 0) return;
    for (const d of disks) {
      const writer = (d.pdev_path ?? '') === '' ? undefined : this.#writing.get(outputKey(d.pdev_path as string));
      if (writer !== undefined) {
        throw new ToolstackError('DISK_IMAGE', `Disk vdev=${d.vdev ?? '?'} of domain '${rec.name}': ${d.pdev_path ?? ''} is ${writer} being written`, {
          hint: 'wait for it to end, or give the disk another image',
        });
      }
    }
  }

  /**
   * The chain of a medium `rec` has (to put it back after a failed change), checked again (it is
   * opened by name again); undefined when it no longer passes (logged: it is then not put back).
   */
  async #chainOf(rec: DomainRecord, disk: DiskDevice): Promise<CheckedChain | undefined> {
    return this.#checkDisk(rec, disk, 'its disk').catch((e: unknown) => {
      this.#log(`domain ${rec.domid}: should a change of the medium of ${disk.vdev ?? '?'} fail, ${disk.pdev_path ?? ''} is not put back: ${errorText(e)}`);
      return undefined;
    });
  }

  async #entry(rec: DomainRecord, device: DomainDevice): Promise<DeviceEntry | undefined> {
    const devid = deviceDevid(device);
    const xenstore = devid === undefined ? undefined : await this.driver.deviceInfo?.(rec, device);
    return devid === undefined || xenstore === undefined ? undefined : { device, devid, xenstore };
  }

  /** The driver's report of a device the guest released late: queued as the domain's next job. */
  #onDeviceReleased(domid: number, device: DomainDevice, how: 'late' | 'ejected'): void {
    this.jobs.run(domid, 'device released', async () => {
      const rec = this.registry.get(domid);
      if (rec === undefined) return;
      const devid = deviceDevid(device);
      const current = devid === undefined ? undefined : deviceByDevid(rec.config, device.kind, devid);
      const lingered = devid === undefined || rec.lingering === undefined ? undefined : deviceByDevid(rec.lingering, device.kind, devid);
      // A detach that finished meanwhile (its release seen first by polling, a controller taking
      // its devices along) or a device attached since under that devid: nothing of this one is left.
      const same = (d: DomainDevice | undefined): boolean => d !== undefined && JSON.stringify(d) === JSON.stringify(device);
      if (how === 'ejected' && !same(current) && !same(lingered)) return;
      await this.driver.releaseDevice?.(rec, current ?? device);
      if (current === undefined && lingered !== undefined && rec.lingering !== undefined) {
        await this.registry.update(domid, { lingering: replaceDevice(rec.lingering, lingered, undefined) });
      }
      if (current !== undefined) {
        const record = await this.registry.update(domid, { config: replaceDevice(rec.config, current, undefined) });
        this.events.emit({ type: 'device', record, action: 'detached', kind: current.kind, devid });
      }
      this.#log(`Domain ${domid}: the guest released ${deviceLabel(device)}: it is gone`);
    }).catch((e: unknown) => this.#log(`domain ${domid}: finishing the removal of ${deviceLabel(device)} failed: ${errorText(e)}`));
  }

  /** The driver's optional operation `op`; NOT_SUPPORTED when this machine layer has none. */
  #machine<K extends MachineOp>(rec: DomainRecord, op: K): NonNullable<DomainDriver[K]> {
    const fn = this.driver[op];
    if (fn === undefined) throw new ToolstackError('NOT_SUPPORTED', `Domain '${rec.name}' has no machine that can ${MACHINE_OPS[op]}`);
    // The stream under way describes the machine as it was when it began (and its target was
    // built from the config of then): no device or vCPU may come or go meanwhile.
    const busy = RESHAPING_OPS.has(op) ? this.#migrating(rec, 'change the devices or vCPUs of') : undefined;
    if (busy !== undefined) throw busy;
    return fn;
  }

  /** Cancels restarts waiting for their delay (dom0d stopping). */
  cancelPendingRestarts(): void {
    for (const t of this.#restarts.values()) clearTimeout(t);
    this.#restarts.clear();
  }

  /** The driver's report that a guest stopped by itself: queued as the domain's next job. */
  #onStopped(domid: number, reason: ShutdownReason): void {
    this.jobs.run(domid, 'stopped', async () => {
      const rec = this.registry.get(domid);
      if (rec === undefined || !LIVE_STATES.includes(rec.state)) return;
      await this.#stopped(rec, reason);
    }).catch((e: unknown) => this.#log(`domain ${domid}: handling ${reason} failed: ${errorText(e)}`));
  }

  /**
   * xl's monitor (`handle_domain_death`): the domain becomes `shutdown` with `reason`, then its
   * on_* action runs (none with `create -e`). Runs inside the domain's job.
   */
  async #stopped(rec: DomainRecord, reason: ShutdownReason, patch: { readonly qemuPid?: null } = {}): Promise<void> {
    // A machine that ended (QMP closed) leaves no pid behind: the kernel gives it to the next process.
    const gone = rec.qemuPid !== null && !pidAliveOr(rec.qemuPid, true);
    // Best effort: a guest that stopped has stopped, and its on_* action runs, whether or not
    // the disk takes the record (full, no file descriptor left).
    const shut = await this.registry.transition(rec.domid, 'shutdown', { shutdownReason: reason, ...gone ? { qemuPid: null } : {}, ...patch }, { bestEffort: true });
    await this.driver.stopped?.(shut);
    const code = SHUTDOWN_REASONS.indexOf(reason);
    this.#log(`Domain ${shut.domid} has shut down, reason code ${code} 0x${code.toString(16)}`);
    // No monitor for `create -e`, nor for a record without a machine (nothing to restart).
    if (shut.noMonitor || shut.qmpSocket === null) return;
    const action = policyAction(shut.config, reason);
    if (action === undefined) {
      this.#log('Domain has suspended.');
      return;
    }
    this.#log(`Action for shutdown reason code ${code} is ${policyActionName(action)}`);
    if (action === 'preserve') return;
    if (action === 'coredump_destroy' || action === 'coredump_restart') await this.#coreDump(shut);
    if (action === 'destroy' || action === 'coredump_destroy') {
      this.#log(`Domain ${shut.domid} needs to be cleaned up: destroying the domain`);
      await this.#finishDestroy(shut);
      return;
    }
    // The restart is persisted before the old domain goes: a dom0d killed from here on finishes it.
    const updated = shut.updatedConfig;
    if (updated !== undefined) this.#log('"xl" configuration found, using it');
    const config = updated === undefined ? shut.config : { ...updated, c_info: { ...updated.c_info, name: shut.name, uuid: shut.uuid } };
    const intent: RestartIntent = {
      // The live scheduling (sched-credit, cpupool-migrate) carries over, unless a config-update
      // gave the next boot its own (its pool=, cpu_weight=).
      init: {
        config, noMonitor: shut.noMonitor, source: shut.source, ...(shut.sourceText === undefined ? {} : { sourceText: shut.sourceText }),
        ...(updated === undefined ? { sched: shut.sched } : {}),
      },
      at: Date.now() + this.#restartDelayMs,
      from: shut.domid,
      keepOld: action === 'restart_rename',
    };
    this.#cancelledRestarts.delete(shut.uuid);
    await this.registry.saveRestart(intent);
    if (!await this.#retire(shut, intent)) return;
    // An xl destroy that came while this job ran ends the domain: no restart brings it back.
    if (this.#destroying.has(shut.domid)) {
      await this.#dropCancelled(intent);
      return;
    }
    this.#scheduleRestart(intent);
  }

  /**
   * `xl destroy NAME` between a domain's end and its restart: the user means the domain to end, so
   * its pending restart is dropped. Undefined when no restart of that name waits (one whose create
   * has begun has its new domain, which holds the name).
   */
  async cancelRestart(name: string): Promise<RestartIntent | undefined> {
    const intent = this.registry.restartNamed(name);
    const uuid = intent?.init.config.c_info?.uuid;
    if (intent === undefined || uuid === undefined || this.registry.byName(name) !== undefined) return undefined;
    const timer = this.#restarts.get(uuid);
    clearTimeout(timer);
    this.#restarts.delete(uuid);
    // Not yet scheduled (its old domain's retirement is finishing): it will not be.
    if (timer === undefined) this.#cancelledRestarts.add(uuid);
    await this.#dropCancelled(intent);
    return intent;
  }

  async #dropCancelled(intent: RestartIntent): Promise<void> {
    await this.registry.dropRestart(intent.init.config.c_info?.uuid as string);
    this.#log(`Domain ${intent.from} (${intent.init.config.c_info?.name ?? ''}): its restart is cancelled (destroyed before it began)`);
  }

  /** The wait before retry `n` (1, 2, ...) of a restart: 2, 4, 8, ... times the restart delay. */
  #retryDelayMs(n: number): number {
    return this.#restartDelayMs * 2 ** n;
  }

  get #restartDelayMs(): number {
    return this.#options.restartDelayMs ?? 2000;
  }

  /**
   * Makes way for the restart of `old`: renames and keeps it (rename-restart), else destroys it.
   * False when the rename failed (its name is taken: the guest crashed twice within the minute
   * the name carries; the disk refused the record): then, as xl's monitor does, the old domain
   * stays as it is under its name and the restart is dropped — a guest that keeps crashing does
   * not fill the host with preserved machines.
   */
  async #retire(old: DomainRecord, intent: RestartIntent): Promise<boolean> {
    if (!intent.keepOld) {
      await this.#finishDestroy(old);
      return true;
    }
    // Renamed already by a dom0d killed before the new uuid was on disk.
    const was = intent.init.config.c_info?.name ?? old.name;
    const name = old.name === was ? preservedName(old.name, new Date(), MAX_NAME_BYTES) : old.name;
    let renamed: DomainRecord;
    try {
      renamed = await this.registry.rename(old.domid, name);
    } catch (e: unknown) {
      if (!isToolstackError(e)) throw e;
      this.#log(`Preserving domain ${old.domid} ${old.name} as ${name} failed: ${errorText(e)}; it stays shut down under its name, not restarted`);
      await this.registry.dropRestart(old.uuid);
      return false;
    }
    const kept = await this.registry.update(old.domid, { uuid: globalThis.crypto.randomUUID() });
    this.#log(`Preserving domain ${kept.domid} ${was} as ${renamed.name}`);
    await this.driver.renamed?.(kept, { ...old, name: was });
    return true;
  }

  /**
   * Re-creates the domain `intent` names (same name, uuid, config; a new domid) at its time, then
   * drops the intent. A restart that fails is abandoned (logged), as xl's is — unless the host was
   * short of descriptors, processes or memory for the moment: then it is tried again, after 2, 4,
   * 8, ... times the restart delay, RESTART_RETRIES times (its intent kept on disk meanwhile),
   * rather than losing the domain to a passing shortage.
   */
  #scheduleRestart(intent: RestartIntent, retry = 0): void {
    const uuid = intent.init.config.c_info?.uuid as string;
    if (this.#cancelledRestarts.delete(uuid)) return;
    clearTimeout(this.#restarts.get(uuid));
    // `at` is wall-clock time (it outlives dom0d): a clock set back since must not hold the restart
    // for as long, so the wait is never longer than the delay itself.
    const delayMs = retry > 0 ? this.#retryDelayMs(retry) : Math.min(Math.max(0, intent.at - Date.now()), this.#restartDelayMs);
    const timer = setTimeout(() => {
      this.#restarts.delete(uuid);
      const what = `Domain ${intent.from} (${intent.init.config.c_info?.name ?? ''})`;
      void (async () => {
        try {
          const rec = await this.create(intent.init, { restart: true });
          this.#log(`${what} restarted as domain ${rec.domid}`);
        } catch (e: unknown) {
          // Not a create a destroy ended (DOMAIN_STATE, whatever it met meanwhile).
          if (!isToolstackError(e, 'DOMAIN_STATE') && shortageOf(e) !== undefined && retry < RESTART_RETRIES && this.registry.byName(intent.init.config.c_info?.name ?? '') === undefined) {
            this.#log(`${what}: restart failed: ${errorText(e)}; trying again in ${String(this.#retryDelayMs(retry + 1) / 1000)} s`);
            this.#scheduleRestart(intent, retry + 1);
            return;
          }
          this.#log(`${what}: restart failed: ${errorText(e)}`);
        }
        await this.registry.dropRestart(uuid);
      })().catch((e: unknown) => this.#log(`${what}: ${errorText(e)}`));
    }, delayMs);
    timer.unref();
    this.#restarts.set(uuid, timer);
  }

  /** xl's `dumping core to <dir>/<name>`; failures are logged and ignored, as in xl. */
  async #coreDump(rec: DomainRecord): Promise<void> {
    const dir = this.#options.dumpDir;
    if (dir === undefined || this.driver.coreDump === undefined) return;
    const file = `${dir}/${rec.name}`;
    this.#log(`dumping core to ${file}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const out = replacingFile(file, `Cannot dump the core of domain '${rec.name}' to '${file}'`, 'IO');
      try {
        await this.driver.coreDump(rec, out);
      } finally {
        out.close();
      }
    } catch (e: unknown) {
      this.#log(`core dump of domain ${rec.domid} failed: ${errorText(e)}`);
    }
  }

  /** Runs `body` as the domain's job, with the record as it is when the job starts. */
  #job<T>(domid: number, action: DomainAction, body: (rec: DomainRecord) => Promise<T>): Promise<T> {
    return this.jobs.run(domid, action, async () => {
      const rec = this.registry.require(domid);
      assertActionAllowed(action, rec.state, rec.name);
      return body(rec);
    });
  }

  /**
   * Destroys the machine and removes the record. A full disk does not stop it: `dying` is
   * recorded best-effort, and removing the record needs no space.
   */
  async #finishDestroy(rec: DomainRecord): Promise<void> {
    if (rec.state !== 'dying') rec = await this.registry.transition(rec.domid, 'dying', {}, { bestEffort: true });
    await this.driver.destroy(rec);
    this.#outgoing.delete(rec.domid);
    this.sched.removeDomain(rec);
    await this.registry.transition(rec.domid, 'destroyed');
  }
}

/**
 * Whether the xl process `holder` names (its pid and start time when its request came) has ended;
 * false when /proc cannot tell now (no file descriptor left): the next check tells.
 */
function holderEnded(holder: { readonly pid: number; readonly start: string | undefined }): boolean {
  try {
    return holder.start === undefined || processStartTime(holder.pid) !== holder.start;
  } catch {
    return false;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The CPU map `all` is for this host (libxl's: every bit of a bitmap sized for its CPUs). */
function hostCpuMap(): number[] {
  return Array.from({ length: cpuBitmapBits(Math.max(0, ...onlineCpus()) + 1) }, (_, i) => i);
}

/**
 * The path a save or core dump to `file` ends up at, to know two writers of one file by: links
 * followed, the directory's real path for a file not there yet.
 */
/**
 * The file that replaces `file` (links to it followed) for a save or core dump, created beside it
 * (see ReplacingFile); refusals and errors as `what: why`, code `code` (NO_SPACE for a full disk).
 */
function replacingFile(file: string, what: string, code: 'SAVE_FILE' | 'IO', refuse?: (real: string) => void): ReplacingFile {
  const target = writeTarget(file, (why, hint) => new ToolstackError(code, `${what}: ${why}`, {
    hint: hint ?? `give the path of a new or existing file${code === 'SAVE_FILE' ? ': the save is written beside it and renamed into place' : ''}`,
  }));
  try {
    // A short name beside it, whatever its own length (a name of 232 bytes and more was too long with it).
    return ReplacingFile.create(target, `dom0-${code === 'SAVE_FILE' ? 'save' : 'dump'}`, refuse);
  } catch (e: unknown) {
    if (!isErrno(e)) throw e;
    const full = e.code === 'ENOSPC' || e.code === 'EDQUOT';
    throw new ToolstackError(full ? 'NO_SPACE' : code, `${what}: ${strerror(e.code ?? '')}`, {
      cause: e, hint: full ? 'free space on its file system, or write elsewhere' : 'give a path in a directory that exists and is writable',
    });
  }
}

function outputKey(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    // not there yet (or a link to nothing): its directory's real path
  }
  try {
    return `${realpathSync(dirname(file))}/${basename(file)}`;
  } catch {
    return file;
  }
}
