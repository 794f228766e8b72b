/**
 * The QEMU driver: a domain is one detached QEMU process, supervised over QMP (see
 * `qemu-machine.ts` for the events, `qemu-runtime.ts` for what lives where on the host). QEMU's
 * stderr goes to `LOG_DIR/qemu-<name>.log` (the previous run's kept as `.log.1`), moved when the
 * domain is renamed.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { monotonicMs, ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { cfgString, domainMemory, domainVcpus, domainVncPassword, readCfgFile, vdevNumber } from '../config/index.js';
import type { DiskDevice, DomainConfig } from '../config/index.js';
import { childPids, isPidAlive, killPid, pidAliveOr, pidCmdline, processCpuTimeNs, readPidFile, rotateLog, threadCpuTimeNs, waitForPidExit } from '../host/index.js';
import type { DetachedChild, ReplacingFile } from '../host/index.js';
import { HostNetwork } from '../network/index.js';
import type { DomainVifs } from '../network/index.js';
import {
  argvRequirements, buildQemuArgs, checkMachineLimits, chooseAccel, configuredRamKiB, deviceModelBinary, diskHasMedium, formatHasChain, hasVncDisplay, isAccelSetting, launchQemu, probeCapabilities, qemuLogReason, qemuEnvironment, QmpClient,
} from '../qemu/index.js';
import type { AccelChoice, AccelSetting, ArgvCapabilities, DomainRuntime, MachineLayout, NicRuntime, QmpCpuInfoFast } from '../qemu/index.js';
import type { XenstoreClient, XenstoredHandle } from '../xenstore/index.js';
import { addBlockScripts, blockScriptOf, removeBlockScripts } from './block-scripts.js';
import { holdHostPaths, removeDeadSockets } from './host-paths.js';
import type { BlockScriptHost } from './block-scripts.js';
import { allDeviceNodes, deviceNodes } from './devices.js';
import type { DomainDevice } from './devices.js';
import type { CheckedChain, DeviceEventSink, DomainDriver, MachineEventSink, MachineStats, MachineThreads, MachineVcpu, MediaChains, MigrationSnapshot, MigrationStats, NetStats, OrphanMachine, StartOptions, TriggerName, VbdStats } from './driver.js';
import { migrateMachine, migrationDone, openSaveStream, outgoingTo, saveMachine } from './qemu-save.js';
import { QemuHotplug } from './qemu-hotplug.js';
import { Machine } from './qemu-machine.js';
import { applyVcpuAffinity, machineVcpus, plugVcpus, refuseStateAfterUnplug } from './qemu-vcpus.js';
import { checkGuestFiles, consoleEndpoints, copyOvmfVars, domainDirs, prepareDomainDirs, qemuLogPath, removeDomainDirs, renameQemuLog } from './qemu-runtime.js';
import { machineConfigs, RECOVERED_SOURCE } from './record.js';
import type { DomainRecord, DomainRecordPatch } from './record.js';
import { checkDomainLayout, removeDomainLayout, removeStrayLayouts, renameDomainLayout, writeControl, writeDomainLayout, writeMemory, writeVcpuAvailability } from './xenstore-layout.js';
import type { DeviceNodes, DeviceXenstoreInfo, DomainLayout } from './xenstore-layout.js';

export interface QemuDriverOptions {
  readonly paths: Dom0Paths;
  readonly xenstored: XenstoredHandle;
  readonly log: (line: string) => void;
  /** The QEMU binary (default: `qemu-system-x86_64` on PATH); `device_model_override` still wins. */
  readonly binary?: string;
  /** How long QEMU may take to open its QMP socket and greet (default 10 s). */
  readonly startTimeoutMs?: number;
  /** How long a save or a restore may take (default 10 min). */
  readonly saveTimeoutMs?: number;
  /** How long an outgoing migration may send nothing before it is ended (default 30 s). */
  readonly migrationStallMs?: number;
  /** How long a device detach waits for the guest to release the device (default 10 s, libxl's). */
  readonly deviceTimeoutMs?: number;
}

/**
 * Xen's triggers as QMP commands; null: QEMU cannot deliver it (no INIT IPI, no sleep button).
 * `reset` is `#resetInPlace`. `nmi` reaches every vCPU (QEMU's pc delivers it to all).
 */
const TRIGGERS: Readonly<Record<TriggerName, readonly (readonly [string, Record<string, unknown>?])[] | null>> = {
  nmi: [['inject-nmi']],
  reset: [['system_reset']],
  init: null,
  power: [['system_powerdown']],
  sleep: null,
  s3resume: [['system_wakeup']],
};

/** How long a machine's statistics (`machineStats`) wait for QEMU. */
const STATS_QMP_MS = 1000;

/** How long one QMP connection to a re-adopted QEMU that did not answer waits for its greeting. */
const UNANSWERED_RETRY_MS = 30_000;

export class QemuDriver implements DomainDriver {
  readonly #o: QemuDriverOptions;
  readonly #xs: XenstoreClient;
  readonly #machines = new Map<number, Machine>();
  /** QEMUs spawned whose start has not finished (so a destroy meanwhile can kill them). */
  readonly #spawned = new Map<number, number>();
  /** Re-adopted QEMUs that have not answered on QMP yet (`#awaitAnswer`). */
  readonly #unanswered = new Map<number, { cancelled: boolean }>();
  readonly #hotplug: QemuHotplug;
  readonly #net: HostNetwork;
  #sink: MachineEventSink | undefined;
  #caps: Promise<ArgvCapabilities> | undefined;
  #accel: Promise<AccelChoice> | undefined;

  constructor(options: QemuDriverOptions) {
    this.#o = options;
    this.#xs = options.xenstored.connect();
    this.#net = new HostNetwork({ paths: options.paths, log: options.log });
    this.#hotplug = new QemuHotplug({
      xs: this.#xs, log: options.log, timeoutMs: options.deviceTimeoutMs ?? 10_000, net: this.#net,
      scriptDir: `${options.paths.configDir}/scripts`, xenstoredSocket: options.paths.xenstoredSocket, capabilities: () => this.capabilities(),
    });
  }

  setMachineEventSink(sink: MachineEventSink): void {
    this.#sink = sink;
  }

  /** QEMU's capabilities (probed once, cached on disk by the probe). */
  capabilities(): Promise<ArgvCapabilities> {
    this.#caps ??= probeCapabilities({ stateDir: this.#o.paths.stateDir, ...(this.#o.binary === undefined ? {} : { binary: this.#o.binary }) })
      .catch((e: unknown) => {
        this.#caps = undefined;
        throw e;
      });
    return this.#caps;
  }

  /** The accelerator for new domains: xl.conf `accel=` (auto, kvm, tcg), probed once. */
  accel(): Promise<AccelChoice> {
    this.#accel ??= (async () => chooseAccel({
      stateDir: this.#o.paths.stateDir,
      setting: this.#accelSetting(),
      ...(this.#o.binary === undefined ? {} : { binary: this.#o.binary }),
    }))().catch((e: unknown) => {
      this.#accel = undefined;
      throw e;
    });
    return this.#accel;
  }

  checkConfig(config: DomainConfig): void {
    checkMachineLimits(config);
  }

  async start(rec: DomainRecord, options: StartOptions = {}): Promise<DomainRecordPatch> {
    const inc = options.incoming;
    const saveFile = inc !== undefined && 'saveFile' in inc ? openSaveStream(inc.saveFile, inc.offset) : undefined;
    try {
      return await this.#start(rec, options, saveFile);
    } finally {
      if (saveFile !== undefined) closeSync(saveFile);
    }
  }

  /** `saveFile`: QEMU's stdin, the state stream it restores (`-incoming fd:0`). */
  async #start(rec: DomainRecord, options: StartOptions, saveFile: number | undefined): Promise<DomainRecordPatch> {
    checkGuestFiles(rec.config, rec.source);
    const [caps, accel] = await Promise.all([this.capabilities(), this.accel()]);
    // Everything that can be refused is, before a block script makes anything.
    argvRequirements(rec.config, caps);
    checkDomainLayout(layoutOf(rec, 0, [], bootDeviceNodes(rec, this.#o.paths)));
    for (const d of rec.config.disks ?? []) blockScriptOf(this.#scripts(), rec, d);
    // The disks made by block scripts are, for QEMU, the devices the scripts made.
    const scripted = await addBlockScripts(this.#scripts(), rec, rec.config.disks ?? [], (d) => diskNodes(rec, d, this.#o.paths));
    const config: DomainConfig = { ...rec.config, disks: scripted.disks };
    const devices = bootDeviceNodes(rec, this.#o.paths).map((n) => scripted.nodes.find((x) => x.kind === n.kind && x.devid === n.devid) ?? n);
    const need = argvRequirements(config, caps);
    const consoles = await prepareDomainDirs(this.#o.paths, rec.domid, need.consoles);
    const dirs = domainDirs(this.#o.paths, rec.domid);
    const runtime: DomainRuntime = {
      domid: rec.domid,
      qmpSocket: `${dirs.run}/qmp.sock`,
      pidFile: `${dirs.run}/qemu.pid`,
      consoles: consoleEndpoints(consoles),
      nics: (await this.#net.plug(vifsOf(rec))).map((tap): NicRuntime => ({ tap })),
      startPaused: true,
      ...(options.incoming === undefined ? {} : { incoming: 'uri' in options.incoming ? options.incoming.uri : 'fd:0' }),
      ...(need.clock ? { clock: { nowMs: Date.now(), utcOffsetMinutes: -new Date().getTimezoneOffset() } } : {}),
      ...(need.ovmfVars ? { ovmfVars: copyOvmfVars(caps, dirs.run) } : {}),
      ...(options.diskChains === undefined ? {} : { diskChains: options.diskChains }),
      ...(options.incoming === undefined || options.layout === undefined ? {} : { layout: options.layout }),
    };
    const logFile = qemuLogPath(this.#o.paths, rec.name);
    rotateLog(logFile);
    // QEMU inherits what dom0d opened for it (its links go once QEMU answers on QMP).
    const { stateDir, runDir, configDir, logDir } = this.#o.paths;
    const held = holdHostPaths(config, rec.source, [stateDir, runDir, configDir, logDir], dirs.run);
    let args: string[];
    try {
      args = buildQemuArgs(config, { caps, accel: accel.accel, runtime: held.paths.size === 0 ? runtime : { ...runtime, hostPaths: held.paths } });
    } catch (e: unknown) {
      held.close();
      throw e;
    }
    const { maxKiB, targetKiB } = domainMemory(config);
    let child: DetachedChild | undefined;
    // xenstore is written while QEMU starts up (a failed start is cleaned up by destroy).
    let published: Promise<void> = Promise.resolve();
    const launched = launchQemu({
      binary: deviceModelBinary(config, caps),
      args,
      logFile,
      env: { ...process.env, ...qemuEnvironment(config, runtime) },
      qmpSocket: runtime.qmpSocket,
      ...(saveFile === undefined ? {} : { stdin: saveFile }),
      ...(held.fds.length === 0 ? {} : { fds: held.fds }),
      timeoutMs: this.#o.startTimeoutMs ?? 10_000,
      label: `of domain '${rec.name}'`,
      onSpawned: (c) => {
        child = c;
        this.#spawned.set(rec.domid, c.pid);
        published = this.#publish(rec, c.pid, consoles, devices);
      },
    });
    try {
      const { qmp } = await launched.finally(held.close);
      await published;
      if (options.incoming !== undefined) {
        // A migration's receiving xl that is gone before it connected leaves nobody to: the domain goes after the stall window.
        const connectWithin = options.incoming.migration === true ? (this.#o.migrationStallMs ?? 30_000) : undefined;
        const { what } = options.incoming;
        await migrationDone(qmp, what, this.#o.saveTimeoutMs ?? 600_000, undefined, connectWithin).catch(async (e: unknown) => {
          // QEMU exits when it cannot load a stream; why is in its log, not on its monitor.
          if (child === undefined || !await waitForPidExit(child.pid, 300)) throw e;
          const why = qemuLogReason(logFile, 3);
          throw new ToolstackError('QEMU', `${what} failed: QEMU exited${why === '' ? '' : `: ${why}`}`, {
            cause: e, hint: `the machine the state was saved from differs from the one its config makes here; see ${logFile}`,
          });
        });
      }
      const started = (child as DetachedChild).pid;
      this.#attach(rec.domid, started, qmp);
      await this.#net.online(vifsOf(rec));
      await this.#hotplug.connected(bootDeviceNodes(rec, this.#o.paths));
      if (targetKiB < maxKiB) await qmp.balloon(targetKiB * 1024);
      const password = domainVncPassword(config);
      if (password !== undefined) await qmp.execute('change-vnc-password', { password });
      const vnc = await this.#queryVnc(qmp);
      return { qemuPid: started, qmpSocket: runtime.qmpSocket, vnc: vnc ?? null, consoles };
    } catch (e: unknown) {
      await published.catch(() => undefined);
      child?.kill();
      throw e;
    } finally {
      this.#spawned.delete(rec.domid);
    }
  }

  async pause(rec: DomainRecord): Promise<void> {
    await this.#qmp(rec).stop();
  }

  async unpause(rec: DomainRecord): Promise<void> {
    await this.#qmp(rec).cont();
  }

  /**
   * Xen writes `poweroff` to `control/shutdown` for the guest's PV watcher; our guests have none,
   * so the ACPI power button follows at once (what `xl shutdown -F` falls back to).
   */
  async shutdown(rec: DomainRecord): Promise<void> {
    const qmp = this.#qmp(rec);
    await writeControl(this.#xs, rec.domid, 'shutdown', 'poweroff');
    await qmp.systemPowerdown();
  }

  /**
   * `control/shutdown` = `reboot`, then a reset (xl's `-F` fallback for reboot, there being no
   * ACPI reboot button); QEMU stops with SHUTDOWN `host-qmp-system-reset`, reported as a reboot.
   */
  async reboot(rec: DomainRecord): Promise<void> {
    const qmp = this.#qmp(rec);
    await writeControl(this.#xs, rec.domid, 'shutdown', 'reboot');
    await qmp.systemReset();
  }

  kill(rec: DomainRecord): number | undefined {
    const m = this.#machines.get(rec.domid);
    if (m !== undefined) m.ending = true;
    const waiting = this.#unanswered.get(rec.domid);
    if (waiting !== undefined) waiting.cancelled = true;
    this.#unanswered.delete(rec.domid);
    const pid = rec.qemuPid ?? m?.pid ?? this.#spawned.get(rec.domid) ?? readPidFile(`${domainDirs(this.#o.paths, rec.domid).run}/qemu.pid`);
    let ours: boolean;
    let helpers: number[] = [];
    try {
      ours = pid !== undefined && isPidAlive(pid) && this.#ours(pid, rec.domid);
      if (ours) helpers = childPids(pid as number);
    } catch {
      // /proc could not be read (no file descriptor left): the machine whose QMP dom0d holds is
      // still known for its own, and a destroy must not wait for a descriptor.
      ours = pid !== undefined && m?.pid === pid && !m.qmp.isClosed;
    }
    if (ours) {
      // Its helpers (an exec: migration's cat, tail) first: one blocked opening a FIFO nobody
      // reads would otherwise outlive it for good.
      for (const child of helpers) killPid(child, 'SIGKILL');
      killPid(pid as number, 'SIGKILL');
    }
    return pid;
  }

  async destroy(rec: DomainRecord): Promise<void> {
    const m = this.#machines.get(rec.domid);
    const pid = this.kill(rec);
    if (m !== undefined) {
      await Promise.race([m.qmp.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      m.qmp.close();
    } else if (pid !== undefined) {
      await waitForPidExit(pid, 2000);
    }
    this.#machines.delete(rec.domid);
    this.#hotplug.forget(rec.domid);
    // The machine is gone: what is left is clean-up, which must not keep the domain from going
    // (a full disk refusing the xenstore journal, say). A failure is logged; nothing stays running.
    const cleanUp = (what: string, step: Promise<unknown>): Promise<unknown> =>
      step.catch((e: unknown) => this.#o.log(`domain ${rec.domid}: ${what} clean-up: ${e instanceof Error ? e.message : String(e)}`));
    // The vif and block scripts run `offline` / `remove` while the devices' xenstore nodes are still there.
    await cleanUp('vif', this.#net.unplug(vifsOf(rec)));
    await cleanUp('block script', removeBlockScripts(this.#scripts(), rec, rec.config.disks ?? [], (d) => diskNodes(rec, d, this.#o.paths)));
    await Promise.all([
      cleanUp('directory', removeDomainDirs(this.#o.paths, rec.domid)),
      cleanUp('socket', removeDeadSockets(rec.config)),
      cleanUp('xenstore', (async () => {
        try {
          await removeDomainLayout(this.#xs, rec.domid, rec.uuid);
        } finally {
          // Released whatever became of the nodes: its socket and connection go with it.
          await this.#release(rec.domid);
        }
      })()),
    ]);
  }

  /**
   * Re-attaches to a QEMU left running by a previous dom0d: the pid must still be that domain's
   * QEMU and its QMP socket must answer. A guest that stopped meanwhile is reported; `stopped`:
   * a machine its record says runs, stopped by a save or migration that did not finish, that could
   * not be resumed.
   */
  async adopt(rec: DomainRecord): Promise<'alive' | 'gone' | 'stopped'> {
    const state = await this.#adopt(rec);
    if (state !== 'gone') {
      await this.#net.readmit(vifsOf(rec)).catch((e: unknown) => this.#o.log(`domain ${rec.domid}: its vifs' NAT leases: ${e instanceof Error ? e.message : String(e)}`));
    }
    return state;
  }

  async #adopt(rec: DomainRecord): Promise<'alive' | 'gone' | 'stopped'> {
    const pid = rec.qemuPid;
    // A record registered without a machine (the test API) has nothing to adopt.
    if (rec.qmpSocket === null) return pid === null || isPidAlive(pid) ? 'alive' : 'gone';
    if (pid === null || !isPidAlive(pid) || !this.#ours(pid, rec.domid)) return 'gone';
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(rec.qmpSocket, { timeoutMs: 3000 });
    } catch (e: unknown) {
      if (!isPidAlive(pid)) return 'gone';
      // Stopped (SIGSTOP) or hung: the guest is kept, never killed for it; the machine is taken
      // over once QEMU answers (until then its commands fail saying so; xl destroy ends it).
      this.#o.log(`domain ${rec.domid}: QEMU ${pid} does not answer on QMP (${e instanceof Error ? e.message : String(e)}): ` +
        'kept as it is, and taken over once it answers');
      this.#awaitAnswer(rec, pid, rec.qmpSocket);
      return 'alive';
    }
    return this.#adopted(rec, pid, qmp);
  }

  /** Re-adoption once QEMU `pid` answered on `qmp`: its machine, and the state it was left in. */
  async #adopted(rec: DomainRecord, pid: number, qmp: QmpClient): Promise<'alive' | 'gone' | 'stopped'> {
    const m = this.#attach(rec.domid, pid, qmp);
    const status = await qmp.queryStatus().catch(() => undefined);
    if (status === undefined) return 'gone';
    if (status.status === 'shutdown') m.stopped('poweroff');
    else if (status.status === 'guest-panicked') m.stopped('crash');
    else if (rec.state === 'running' && await this.#unfinishedSave(qmp, status)) {
      // A save or outgoing migration its dom0d did not see through (killed meanwhile) is
      // cancelled and the machine resumed, as Xen resumes a domain whose save or migration failed;
      // what a save wrote stays under its temporary name.
      await qmp.execute('migrate_cancel').catch(() => undefined);
      for (let i = 0; i < 100 && (await qmp.queryMigrate().catch(() => undefined))?.status === 'cancelling'; i++) await new Promise((r) => setTimeout(r, 20));
      if (!(await qmp.queryStatus()).running) {
        const failed = await qmp.cont().then(() => undefined, (e: unknown) => (e instanceof Error ? e.message : String(e)));
        if (failed !== undefined) {
          this.#o.log(`domain ${rec.domid}: stopped by a save or migration that did not finish, and resuming it failed (${failed}): it stays paused (xl unpause)`);
          await this.#reconcile(rec, qmp);
          return 'stopped';
        }
      }
      this.#o.log(`domain ${rec.domid}: resumed after a save or migration that did not finish`);
    }
    await this.#reconcile(rec, qmp);
    return 'alive';
  }

  /** The devices the guest ejected while no dom0d listened go (see QemuHotplug.reconcile). */
  async #reconcile(rec: DomainRecord, qmp: QmpClient): Promise<void> {
    await this.#hotplug.reconcile(rec.domid, qmp, machineConfigs(rec)).catch((e: unknown) => this.#o.log(`domain ${rec.domid}: comparing its devices with its machine's: ${e instanceof Error ? e.message : String(e)}`));
  }

  /**
   * Whether a machine of a running domain is in, or was stopped by, a save or an outgoing
   * migration: one still under way, or a stopped machine whose last migration ended.
   */
  async #unfinishedSave(qmp: QmpClient, status: { readonly running: boolean; readonly status: string }): Promise<boolean> {
    const m = (await qmp.queryMigrate().catch(() => undefined))?.status;
    const underWay = m !== undefined && !['none', 'completed', 'failed', 'cancelled'].includes(m);
    if (underWay) return true;
    if (status.running) return false;
    return status.status === 'postmigrate' || status.status === 'finish-migrate' || (m !== undefined && m !== 'none');
  }

  async orphans(known: ReadonlySet<number>): Promise<OrphanMachine[]> {
    const root = `${this.#o.paths.runDir}/domains`;
    let entries: string[] = [];
    try {
      entries = readdirSync(root);
    } catch {
      // No run directories at all: nothing runs, but xenstore and the host may still hold leftovers.
    }
    const out: OrphanMachine[] = [];
    // Every QEMU of ours that runs, described or not: its vifs and xenstore nodes stay.
    const running = new Set<number>();
    for (const entry of entries) {
      if (!/^\d+$/.test(entry) || known.has(Number(entry))) continue;
      const domid = Number(entry);
      const dirs = domainDirs(this.#o.paths, domid);
      const pid = readPidFile(`${dirs.run}/qemu.pid`);
      if (pid === undefined || !isPidAlive(pid) || !this.#ours(pid, domid)) {
        await removeDomainDirs(this.#o.paths, domid);
        continue;
      }
      running.add(domid);
      const found = await this.#inspect(domid, pid).catch((e: unknown) => {
        this.#o.log(`domain ${domid}: QEMU ${pid} runs without a record and could not be described: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
      if (found !== undefined) out.push(found);
    }
    const live = new Set([...known, ...running]);
    await this.#net.cleanUp(live)
      .catch((e: unknown) => this.#o.log(`removing the vifs of dead domains: ${e instanceof Error ? e.message : String(e)}`));
    await this.#removeStrayXenstore(live)
      .catch((e: unknown) => this.#o.log(`removing the xenstore nodes of dead domains: ${e instanceof Error ? e.message : String(e)}`));
    return out;
  }

  /** Ends xenstored's introduction of `domid` (its socket and connection), when there is one. */
  async #release(domid: number): Promise<void> {
    if (await this.#xs.isDomainIntroduced(domid)) await this.#o.xenstored.releaseDomain(domid);
  }

  /**
   * Takes out of xenstore the domains no record or running QEMU stands for (nodes, introductions;
   * also an introduction without nodes, which a client's INTRODUCE made).
   */
  async #removeStrayXenstore(live: ReadonlySet<number>): Promise<void> {
    const removed = await removeStrayLayouts(this.#xs, live);
    for (const domid of removed) await this.#release(domid);
    for (const domid of this.#o.xenstored.introducedDomains()) if (!live.has(domid)) await this.#o.xenstored.releaseDomain(domid);
    if (removed.length > 0) this.#o.log(`removed the xenstore nodes of ${removed.length} dead domain(s): ${removed.join(', ')}`);
  }

  /**
   * What a running QEMU of `domid` and xenstore tell of the domain. A QEMU that does not answer
   * on QMP (stopped, hung) is described by xenstore alone (its memory target, its vCPU nodes).
   */
  async #inspect(domid: number, pid: number): Promise<OrphanMachine> {
    const dirs = domainDirs(this.#o.paths, domid);
    const qmpSocket = `${dirs.run}/qmp.sock`;
    const D = `/local/domain/${domid}`;
    const machine = await (async () => {
      const qmp = await QmpClient.connect(qmpSocket, { timeoutMs: 3000 });
      try {
        const [status, memory, cpus] = await Promise.all([
          qmp.queryStatus(), qmp.execute('query-memory-size-summary') as Promise<{ 'base-memory'?: number }>, qmp.queryCpusFast(),
        ]);
        return { memKiB: configuredRamKiB(Math.floor((memory['base-memory'] ?? 0) / 1024)), vcpus: Math.max(1, cpus.length), paused: status.status !== 'running' };
      } finally {
        qmp.close();
      }
    })().catch(async (e: unknown) => {
      this.#o.log(`domain ${domid}: QEMU ${pid} runs without a record and does not answer on QMP (${e instanceof Error ? e.message : String(e)}): described by xenstore`);
      const [target, cpus] = await Promise.all([this.#xs.tryRead(`${D}/memory/target`), this.#xs.directory(`${D}/cpu`).catch(() => [])]);
      return { memKiB: Number(target ?? 0) || 0, vcpus: Math.max(1, cpus.length), paused: false };
    });
    const [name, vm, type] = await Promise.all([this.#xs.tryRead(`${D}/name`), this.#xs.tryRead(`${D}/vm`), this.#xs.tryRead(`/libxl/${domid}/type`)]);
    const consoles = readdirSync(dirs.run).filter((f) => f.endsWith('.sock') && f !== 'qmp.sock').map((f) => f.slice(0, -5)).flatMap((id) => {
      const m = /^(console|serial|channel|debug)(\d+)$/.exec(id);
      if (m === null) return [];
      const kind = m[1] === 'console' ? 'pv' as const : m[1] as 'serial' | 'channel' | 'debug';
      return [{ id, kind, index: Number(m[2]), socket: `${dirs.run}/${id}.sock`, feed: `${dirs.state}/${id}.log`, tty: `${dirs.run}/${id}.tty` }];
    });
    return {
      domid, pid, qmpSocket, consoles,
      ...(name === undefined ? {} : { name }),
      ...(vm?.startsWith('/vm/') === true ? { uuid: vm.slice(4) } : {}),
      type: type === 'hvm' || type === 'pvh' ? type : 'pv',
      ...machine,
    };
  }

  cpuTimeNs(rec: DomainRecord): Promise<number> {
    return Promise.resolve(rec.qemuPid === null ? 0 : processCpuTimeNs(rec.qemuPid) ?? 0);
  }

  /** Every vCPU thread (QEMU names them `CPU <n>/TCG` or `CPU <n>/KVM`) sleeping. */
  vcpusBlocked(rec: DomainRecord): boolean | undefined {
    return rec.qemuPid === null ? undefined : vcpuThreadsSleeping(rec.qemuPid);
  }

  stopped(rec: DomainRecord): Promise<void> {
    this.#o.xenstored.domainShutdown(rec.domid);
    return Promise.resolve();
  }

  async resumed(rec: DomainRecord): Promise<void> {
    await this.#xs.resume(rec.domid);
  }

  async coreDump(rec: DomainRecord, out: ReplacingFile): Promise<void> {
    // QEMU opens the file dom0d made (private, new) through dom0d's descriptor of it.
    await this.#qmp(rec).dumpGuestMemory(out.path);
    out.commit();
  }

  async monitorCommand(rec: DomainRecord, command: string): Promise<string> {
    const out = await this.#qmp(rec).execute('human-monitor-command', { 'command-line': command });
    return typeof out === 'string' ? out : '';
  }

  /** A log left under the old name (the move failed) is logged, not an error: the rename is done. */
  async renamed(rec: DomainRecord, previous: DomainRecord): Promise<void> {
    try {
      renameQemuLog(this.#o.paths, previous.name, rec.name);
    } catch (e: unknown) {
      this.#o.log(`domain ${rec.domid}: its QEMU log stays ${qemuLogPath(this.#o.paths, previous.name)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await renameDomainLayout(this.#xs, rec.domid, { name: rec.name, uuid: rec.uuid }, previous.uuid);
  }

  async trigger(rec: DomainRecord, trigger: TriggerName): Promise<string> {
    const steps = TRIGGERS[trigger];
    if (steps === null) {
      throw new ToolstackError('NOT_SUPPORTED', `Cannot send trigger "${trigger}" to domain '${rec.name}': QEMU has no way to deliver it`, {
        hint: 'triggers QEMU can deliver: nmi, reset, power, s3resume',
      });
    }
    const qmp = this.#qmp(rec);
    if (trigger === 'reset') return this.#resetInPlace(qmp);
    for (const [command, args] of steps) await qmp.execute(command, args);
    return steps.map(([c]) => c).join(' ');
  }

  /**
   * Resets the machine in place, as Xen's reset trigger does (same domain, no on_reboot). The
   * domain's QEMU turns every reset into a stop for dom0 (`-action reboot=shutdown`), and the
   * firmware (SeaBIOS) answers a reset by resetting once more as it starts; so the action is a
   * real reset from the QMP reset until the firmware's resets are over: its first has come (within
   * 15 s: milliseconds of guest time, but a loaded host under TCG has been seen to take over 3 s)
   * and no other for 1 s (a second one has been seen). A guest reboot inside that window resets
   * in place too. The window ends 20 s after the reset whatever the guest does: a guest that
   * resets every second would otherwise hold it (its on_reboot bypassed, its job queue held).
   */
  async #resetInPlace(qmp: QmpClient): Promise<string> {
    await qmp.execute('set-action', { reboot: 'reset' });
    let last: number | undefined;
    const off = qmp.onEvent('RESET', (e) => {
      if (e.data['guest'] === true) last = monotonicMs();
    });
    try {
      await qmp.systemReset();
      const start = monotonicMs();
      const open = (now: number): boolean => (last === undefined ? now - start < 15_000 : now - last < 1000 && now - start < 20_000);
      while (open(monotonicMs())) await new Promise((r) => setTimeout(r, 50));
    } finally {
      off();
      await qmp.execute('set-action', { reboot: 'shutdown' });
    }
    return 'set-action system_reset set-action';
  }

  async sysrq(rec: DomainRecord, key: string): Promise<{ xenstorePath: string; keys: string[] }> {
    const qcode = key.toLowerCase();
    if (!/^[a-z0-9]$/.test(qcode)) {
      throw new ToolstackError('NOT_SUPPORTED', `Cannot send sysrq '${key}' to domain '${rec.name}': only letters and digits have a key`, {
        hint: 'the kernel\'s sysrq commands are letters and digits (xl sysrq DOMAIN h lists them)',
      });
    }
    const qmp = this.#qmp(rec);
    const xenstorePath = await writeControl(this.#xs, rec.domid, 'sysrq', key);
    const keys = ['alt', 'sysrq', qcode];
    await qmp.sendKey(keys);
    return { xenstorePath, keys };
  }

  async vnc(rec: DomainRecord): Promise<{ host: string; port: number } | undefined> {
    // Without a VNC server there is nothing to ask QEMU (which may not answer: stopped, say).
    if (!hasVncDisplay(rec.config)) return undefined;
    return this.#queryVnc(this.#qmp(rec));
  }

  async save(rec: DomainRecord, out: ReplacingFile, header: Buffer, wasRunning: boolean): Promise<number> {
    const qmp = this.#qmp(rec);
    await refuseStateAfterUnplug(qmp, existsSync(this.#unpluggedMarker(rec)), 'save', rec.name);
    return saveMachine(qmp, out, header, wasRunning, this.#o.saveTimeoutMs ?? 600_000);
  }

  /**
   * Also refuses (NOT_SUPPORTED) a machine that a restore from its config could not rebuild: a
   * device or vCPU its config no longer has (a forced detach or a vCPU unplug the guest has not
   * finished; a recovered domain, whose config knows none of its devices). QEMU would refuse that
   * stream, and a save has destroyed the domain by then.
   */
  async machineLayout(rec: DomainRecord): Promise<MachineLayout> {
    const qmp = this.#qmp(rec);
    const [buses, ram, cpus, caps, accel] = await Promise.all([qmp.queryPci(), machineRamKiB(qmp), qmp.queryCpusFast(), this.capabilities(), this.accel()]);
    // Devices behind a bridge are placed by their bridge: only the root bus's are kept.
    const root = buses.find((b) => b.bus === 0)?.devices ?? [];
    const layout = { pci: root.filter((d) => d.qdev_id !== '').map((d) => ({ id: d.qdev_id, slot: d.slot, func: d.function })), ramKiB: ram };
    const refused = (what: string): ToolstackError => new ToolstackError('NOT_SUPPORTED', `Cannot save or migrate domain '${rec.name}': ${what}`, {
      hint: rec.source === RECOVERED_SOURCE
        ? 'it was recovered without its config: nothing can rebuild its machine elsewhere'
        : 'a device detached with -f, or a vCPU removed, stays until the guest releases it: once it has (or after xl reboot) the domain can be saved',
    });
    if (rec.source === RECOVERED_SOURCE) throw refused('it was recovered without its config, which a restore rebuilds its machine from');
    let ids: string[];
    try {
      ids = rebuiltDeviceIds(rec.config, caps, accel.accel, layout);
    } catch (e: unknown) {
      throw refused(`its config cannot rebuild its machine: ${e instanceof Error ? e.message : String(e)}`);
    }
    const rebuilt = new Set(ids);
    const extra = layout.pci.map((p) => p.id).filter((id) => !rebuilt.has(id));
    const online = domainVcpus(rec.config).online;
    if (extra.length > 0 || cpus.length !== online) {
      const what = [
        ...(extra.length === 0 ? [] : [`device${extra.length === 1 ? '' : 's'} ${extra.join(', ')}`]),
        ...(cpus.length === online ? [] : [`${cpus.length} vCPUs (its config: ${online})`]),
      ].join(' and ');
      throw refused(`its machine has ${what}, which a machine rebuilt from its config would lack`);
    }
    return layout;
  }

  async checkMigratable(rec: DomainRecord): Promise<void> {
    await refuseStateAfterUnplug(this.#qmp(rec), existsSync(this.#unpluggedMarker(rec)), 'migrate', rec.name);
  }

  async migrate(rec: DomainRecord, fifo: string): Promise<MigrationStats> {
    const qemu = rec.qemuPid;
    const qmp = this.#qmp(rec);
    await this.checkMigratable(rec);
    return migrateMachine(qmp, outgoingTo(fifo), this.#o.saveTimeoutMs ?? 600_000, {
      ms: this.#o.migrationStallMs ?? 30_000,
      unblock: () => this.endOutgoingStream({ ...rec, qemuPid: qemu }),
    });
  }

  endOutgoingStream(rec: DomainRecord): void {
    for (const child of rec.qemuPid === null ? [] : childPids(rec.qemuPid)) if (isStreamWriter(pidCmdline(child))) killPid(child);
  }

  async migrationProgress(rec: DomainRecord): Promise<MigrationSnapshot> {
    const info = await this.#qmp(rec).queryMigrate();
    const ram = info.ram ?? {};
    const n = (key: string): number => ram[key] ?? 0;
    return {
      status: info.status ?? 'none', transferredBytes: n('transferred'), remainingBytes: n('remaining'), totalBytes: n('total'),
      dirtyPagesPerSecond: n('dirty-pages-rate'), pageBytes: n('page-size'), iterations: n('dirty-sync-count'),
      expectedDowntimeMs: info['expected-downtime'] ?? 0, mbps: n('mbps'),
    };
  }

  async setMemory(rec: DomainRecord, m: { readonly targetKiB: number; readonly maxKiB: number }): Promise<{ readonly machineKiB: number }> {
    const qmp = this.#qmp(rec);
    const machineKiB = configuredRamKiB(await machineRamKiB(qmp));
    if (m.targetKiB > machineKiB) {
      throw new ToolstackError('MEMORY', `Cannot set the memory of domain '${rec.name}' to ${m.targetKiB} KiB: its machine has ${machineKiB} KiB until it reboots`, {
        hint: `a higher maxmem (xl mem-max) takes effect at the domain's next boot`,
      });
    }
    const previous = domainMemory(rec.config).targetKiB;
    await qmp.balloon(m.targetKiB * 1024);
    try {
      await writeMemory(this.#xs, rec.domid, rec.uuid, m);
    } catch (e: unknown) {
      await qmp.balloon(Math.min(previous, machineKiB) * 1024).catch(() => undefined);
      throw e;
    }
    return { machineKiB };
  }

  async machineStats(rec: DomainRecord): Promise<MachineStats> {
    const m = this.#machines.get(rec.domid);
    if (m === undefined || m.qmp.isClosed) return { vcpuTimesNs: [], nets: [], vbds: [] };
    // Figures for `xl top` and the like: a QEMU that does not answer soon gives none this time.
    const [cpus, blocks] = await Promise.all([
      (m.qmp.execute('query-cpus-fast', undefined, { timeoutMs: STATS_QMP_MS }) as Promise<QmpCpuInfoFast[]>).catch((): QmpCpuInfoFast[] => []),
      (m.qmp.execute('query-blockstats', undefined, { timeoutMs: STATS_QMP_MS }) as Promise<QmpBlockStats[]>).catch((): QmpBlockStats[] => []),
    ]);
    const vcpuTimesNs = [...cpus].sort((a, b) => a['cpu-index'] - b['cpu-index']).map((c) => threadCpuTimeNs(m.pid, c['thread-id']) ?? 0);
    const nics = rec.config.nics ?? [];
    const nets = this.#net.taps(vifsOf(rec)).map((tap, i): NetStats => {
      const n = (name: string): number => Number(readSysfs(`/sys/class/net/${tap}/statistics/${name}`) ?? 0);
      return {
        devid: nics[i]?.devid ?? i,
        rxBytes: n('rx_bytes'), rxPackets: n('rx_packets'), rxErrors: n('rx_errors'), rxDropped: n('rx_dropped'),
        txBytes: n('tx_bytes'), txPackets: n('tx_packets'), txErrors: n('tx_errors'), txDropped: n('tx_dropped'),
      };
    });
    // A disk's QEMU device has its vdev as id (storage.ts): qdev `hda`, `/machine/peripheral/xvda/virtio-backend`.
    const vbds = (rec.config.disks ?? []).flatMap((d): VbdStats[] => {
      const s = blocks.find((b) => d.vdev !== undefined && (b.qdev?.split('/').includes(d.vdev) ?? false))?.stats;
      const devid = vdevNumber(d.vdev ?? '');
      if (s === undefined || devid === undefined) return [];
      return [{ devid, readRequests: s.rd_operations, writeRequests: s.wr_operations, readSectors: Math.floor(s.rd_bytes / 512), writeSectors: Math.floor(s.wr_bytes / 512) }];
    });
    return { vcpuTimesNs, nets, vbds };
  }

  async vcpus(rec: DomainRecord): Promise<MachineVcpu[]> {
    const m = this.#machines.get(rec.domid);
    return m === undefined || m.qmp.isClosed ? [] : machineVcpus(m.qmp, m.pid);
  }

  async setVcpuAffinity(rec: DomainRecord, vcpus?: readonly number[]): Promise<void> {
    if ((rec.config.b_info?.vcpu_hard_affinity ?? []).length === 0) return;
    await applyVcpuAffinity(this.#qmp(rec), rec.domid, rec.config, vcpus);
  }

  /** A stopped guest cannot release a vCPU before it runs again: its unplugs are asked, not waited for. */
  async setVcpus(rec: DomainRecord, count: number): Promise<{ readonly pending: readonly number[] }> {
    const qmp = this.#qmp(rec);
    const { running } = await qmp.queryStatus();
    const marker = this.#unpluggedMarker(rec);
    const plugged = await plugVcpus(qmp, {
      domid: rec.domid, config: rec.config, count, wait: running, timeoutMs: this.#o.deviceTimeoutMs ?? 10_000,
      unplugged: existsSync(marker), unplugging: () => closeSync(openSync(marker, 'w', 0o600)),
    });
    await writeVcpuAvailability(this.#xs, rec.domid, domainVcpus(rec.config).max, count);
    return plugged;
  }

  /** Made once the domain's machine has unplugged a vCPU (see qemu-vcpus.ts). */
  #unpluggedMarker(rec: DomainRecord): string {
    return `${domainDirs(this.#o.paths, rec.domid).run}/vcpu-unplugged`;
  }

  /** The balloon's report is the guest's word (QEMU subtracts what the guest says it gave back): kept within [0, the domain's maximum]. */
  currentMemKiB(rec: DomainRecord): number | undefined {
    const bytes = this.#machines.get(rec.domid)?.balloonBytes;
    return bytes === undefined ? undefined : Math.min(Math.max(0, Math.floor(bytes / 1024)), domainMemory(rec.config).maxKiB);
  }

  attachDevice(rec: DomainRecord, device: DomainDevice, chain?: CheckedChain): Promise<void> {
    return this.#hotplug.attach(rec, this.#qmp(rec), device, chain);
  }

  detachDevice(rec: DomainRecord, device: DomainDevice, options: { readonly force: boolean; readonly waitMs?: number }): Promise<boolean> {
    return this.#hotplug.detach(rec, this.#qmp(rec), device, options.force, options.waitMs);
  }

  releaseDevice(rec: DomainRecord, device: DomainDevice): Promise<void> {
    const m = this.#machines.get(rec.domid);
    return this.#hotplug.release(rec, m === undefined || m.qmp.isClosed ? undefined : m.qmp, device);
  }

  setDeviceEventSink(sink: DeviceEventSink, configsOf: (domid: number) => readonly DomainConfig[]): void {
    this.#hotplug.setSink(sink, configsOf);
  }

  changeMedia(rec: DomainRecord, drive: DiskDevice, medium: DiskDevice, chains: MediaChains): Promise<void> {
    return this.#hotplug.changeMedia(rec, this.#qmp(rec), drive, medium, chains);
  }

  deviceInfo(rec: DomainRecord, device: DomainDevice): Promise<DeviceXenstoreInfo | undefined> {
    return this.#hotplug.info(rec, device);
  }

  async machineThreads(rec: DomainRecord): Promise<MachineThreads | undefined> {
    const m = this.#machines.get(rec.domid);
    if (m === undefined || m.qmp.isClosed) return undefined;
    const cpus = await m.qmp.queryCpusFast();
    return { pid: m.pid, vcpus: cpus.map((c) => ({ vcpu: c['cpu-index'], tid: c['thread-id'] })).sort((a, b) => a.vcpu - b.vcpu) };
  }

  #scripts(): BlockScriptHost {
    return { xs: this.#xs, scriptDir: `${this.#o.paths.configDir}/scripts`, xenstoredSocket: this.#o.paths.xenstoredSocket, log: this.#o.log };
  }

  async #queryVnc(qmp: QmpClient): Promise<{ host: string; port: number } | undefined> {
    const vnc = await qmp.queryVnc().catch(() => undefined);
    const port = Number(vnc?.service);
    return vnc?.enabled === true && Number.isInteger(port) ? { host: vnc.host ?? '127.0.0.1', port } : undefined;
  }

  /** libxl's xenstore layout of the domain, then the domain introduced to xenstored. */
  async #publish(rec: DomainRecord, pid: number, consoles: DomainRecord['consoles'], devices: readonly DeviceNodes[]): Promise<void> {
    await writeDomainLayout(this.#xs, layoutOf(rec, pid, consoles, devices));
    await this.#o.xenstored.introduceDomain(rec.domid);
  }

  /** True when `pid` runs a QEMU of this domain (its argv names the domain's run directory). */
  /**
   * Retries QMP on a re-adopted QEMU that did not answer (`adopt`) until it does, then adopts
   * it; a QEMU that dies meanwhile is reported as a machine that stopped (a crash).
   */
  #awaitAnswer(rec: DomainRecord, pid: number, socket: string): void {
    const waiting = { cancelled: false };
    this.#unanswered.set(rec.domid, waiting);
    void (async () => {
      while (!waiting.cancelled) {
        // /proc unreadable for now (no descriptor left): asked again at the next round.
        if (!pidAliveOr(pid, true)) {
          this.#unanswered.delete(rec.domid);
          this.#sink?.(rec.domid, 'crash');
          return;
        }
        const qmp = await QmpClient.connect(socket, { timeoutMs: UNANSWERED_RETRY_MS }).catch(() => undefined);
        if (qmp === undefined) {
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        if (waiting.cancelled) {
          qmp.close();
          return;
        }
        this.#unanswered.delete(rec.domid);
        this.#o.log(`domain ${rec.domid}: QEMU ${pid} answers on QMP again: taken over`);
        await this.#adopted(rec, pid, qmp).catch((e: unknown) => this.#o.log(`domain ${rec.domid}: taking over QEMU ${pid}: ${e instanceof Error ? e.message : String(e)}`));
        return;
      }
    })();
  }

  /**
   * Whether `pid` is this instance's QEMU of `domid`: its `-pidfile` argument is exactly that
   * domain's (a substring test also took another instance's QEMU whose run directory ends the
   * same way, `/srv/b/run/dom0/...`, for ours: a reused pid was then killed).
   */
  #ours(pid: number, domid: number): boolean {
    const argv = pidCmdline(pid) ?? [];
    const at = argv.indexOf('-pidfile');
    return at >= 0 && argv[at + 1] === `${domainDirs(this.#o.paths, domid).run}/qemu.pid`;
  }

  #attach(domid: number, pid: number, qmp: QmpClient): Machine {
    const m: Machine = new Machine(pid, qmp, (reason) => {
      if (this.#machines.get(domid) === m) this.#sink?.(domid, reason);
    });
    this.#machines.set(domid, m);
    this.#hotplug.watch(domid, qmp);
    return m;
  }

  #qmp(rec: DomainRecord): QmpClient {
    const m = this.#machines.get(rec.domid);
    if (m === undefined && this.#unanswered.has(rec.domid)) {
      throw new ToolstackError('QEMU', `QEMU of domain '${rec.name}' (${rec.domid}) has not answered on QMP since dom0d started`, {
        hint: 'QEMU may be stopped (SIGSTOP) or hung; `xl destroy` still ends the domain',
      });
    }
    if (m === undefined || m.qmp.isClosed) {
      throw new ToolstackError('QEMU', `Domain '${rec.name}' (${rec.domid}) has no running QEMU`, {
        hint: `see ${qemuLogPath(this.#o.paths, rec.name)}`,
      });
    }
    return m.qmp;
  }

  #accelSetting(): AccelSetting {
    const file = `${this.#o.paths.configDir}/xl.conf`;
    if (!existsSync(file)) return 'auto';
    const v = cfgString(readCfgFile(file), 'accel');
    if (v === undefined) return 'auto';
    if (!isAccelSetting(v)) {
      throw new ToolstackError('CFG_VALUE', `${file}: accel="${v}" is not one of auto, kvm, tcg`, { hint: 'set accel="auto", "kvm" or "tcg" in xl.conf' });
    }
    return v;
  }
}

/** The xenstore layout libxl writes for the domain (see xenstore-layout.ts). */
function layoutOf(rec: DomainRecord, pid: number, consoles: DomainRecord['consoles'], devices: readonly DeviceNodes[]): DomainLayout {
  const config = rec.config;
  const b = config.b_info ?? {};
  const mem = domainMemory(config);
  const vcpus = domainVcpus(config);
  const serial: Record<number, string> = {};
  for (const c of consoles) if (c.kind === 'serial') serial[c.index] = c.tty;
  const pv = consoles.find((c) => c.kind === 'pv');
  return {
    domid: rec.domid,
    name: rec.name,
    uuid: rec.uuid,
    type: config.c_info?.type ?? 'pv',
    maxMemKiB: mem.maxKiB,
    targetMemKiB: mem.targetKiB,
    videoMemKiB: mem.videoKiB,
    maxVcpus: vcpus.max,
    onlineVcpus: vcpus.online,
    qemuPid: pid,
    consoles: { ...(pv === undefined ? {} : { pv: pv.tty }), serial },
    ...(b.kernel === undefined ? {} : { kernel: b.kernel }),
    ...(b.ramdisk === undefined ? {} : { ramdisk: b.ramdisk }),
    ...(b.cmdline === undefined ? {} : { cmdline: b.cmdline }),
    startTime: Date.now(),
    devices,
  };
}

/** The devices a domain boots with, as xenstore nodes. */
function bootDeviceNodes(rec: DomainRecord, paths: Dom0Paths): DeviceNodes[] {
  return allDeviceNodes(rec.config, rec.domid, `${paths.configDir}/scripts`);
}

/** A disk's xenstore nodes (undefined: it has no devid). */
function diskNodes(rec: DomainRecord, disk: DiskDevice, paths: Dom0Paths): DeviceNodes | undefined {
  return deviceNodes(rec.config, rec.domid, { kind: 'vbd', disk }, `${paths.configDir}/scripts`);
}

/** A domain's vifs, for the network area. */
/** One element of QMP `query-blockstats` (the fields read here). */
interface QmpBlockStats {
  readonly qdev?: string;
  readonly stats: { readonly rd_operations: number; readonly wr_operations: number; readonly rd_bytes: number; readonly wr_bytes: number };
}

/** A sysfs attribute's text, trimmed; undefined when it cannot be read. */
function readSysfs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function vifsOf(rec: DomainRecord): DomainVifs {
  return { domid: rec.domid, name: rec.name, nics: rec.config.nics ?? [] };
}

/** Every vCPU thread of a QEMU (named `CPU <n>/TCG` or `/KVM`) sleeping; undefined when unknown. */
function vcpuThreadsSleeping(pid: number): boolean | undefined {
  const task = `/proc/${pid}/task`;
  let vcpus = 0;
  try {
    for (const tid of readdirSync(task)) {
      if (!readFileSync(`${task}/${tid}/comm`, 'utf8').startsWith('CPU ')) continue;
      vcpus++;
      const stat = readFileSync(`${task}/${tid}/stat`, 'utf8');
      if (stat.charAt(stat.lastIndexOf(')') + 2) !== 'S') return false;
    }
  } catch {
    return undefined;
  }
  return vcpus > 0 ? true : undefined;
}

/**
 * Whether a child of QEMU is the writer of its outgoing stream (`outgoingTo`): `cat`, or the shell
 * that execs it while that shell still opens the FIFO for it (the redirection comes before the
 * exec, so a writer whose reader never came is blocked in open(2) as `sh -c 'exec cat > FIFO'`).
 */
function isStreamWriter(argv: readonly string[] | undefined): boolean {
  return argv !== undefined && (argv[0] === 'cat' || (argv[1] === '-c' && (argv[2] ?? '').startsWith('exec cat > ')));
}

/** The RAM the machine was started with, KiB (what its state stream holds). */
async function machineRamKiB(qmp: QmpClient): Promise<number> {
  const summary = await qmp.execute('query-memory-size-summary') as { 'base-memory'?: number };
  return Math.floor((summary['base-memory'] ?? 0) / 1024);
}

/**
 * The device ids a QEMU built from `config` with `layout` has: its `-device ...,id=` arguments,
 * and any id named in `device_model_args` (raw QEMU syntax, JSON included). Image chains are not
 * read: each disk's is taken as having no backing file (ids do not depend on it).
 */
function rebuiltDeviceIds(config: DomainConfig, caps: ArgvCapabilities, accel: AccelChoice['accel'], layout: MachineLayout): string[] {
  const need = argvRequirements(config, caps);
  const chained = (config.disks ?? []).filter((d) => d.vdev !== undefined && formatHasChain(d.format) && diskHasMedium(d));
  const runtime: DomainRuntime = {
    domid: 1, qmpSocket: '/q', pidFile: '/p', layout,
    consoles: Object.fromEntries(need.consoles.map((c) => [c.id, { socket: '/c' }])),
    nics: Array.from({ length: need.nics }, (_, i) => ({ tap: `t${i}` })),
    ...(need.ovmfVars ? { ovmfVars: '/o' } : {}),
    ...(need.clock ? { clock: { nowMs: 0, utcOffsetMinutes: 0 } } : {}),
    diskChains: Object.fromEntries(chained.map((d) => [d.vdev as string, { backing: [] }])),
  };
  const args = buildQemuArgs(config, { caps, accel, runtime });
  const b = config.b_info;
  const raw = [...(b?.extra ?? []), ...(b?.extra_pv ?? []), ...(b?.extra_hvm ?? [])].join('\n');
  return [
    ...args.flatMap((a, i) => (args[i - 1] === '-device' ? [/(?:^|,)id=([^,]+)/.exec(a)?.[1] ?? ''] : [])),
    ...[...raw.matchAll(/(?:^|,)id=([^,\s]+)|"id"\s*:\s*"([^"]+)"/gm)].map((m) => m[1] ?? m[2] ?? ''),
  ];
}
