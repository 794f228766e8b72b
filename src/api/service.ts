import { lstatSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { BugError, isErrno, isToolstackError, ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { DEVICE_DISK, DEVICE_NIC, DEVICE_PCI, DEVICE_USBCTRL, DEVICE_USBDEV, DEVICE_VKB, DOMAIN_CONFIG, domainMemory, domainVcpus, domainVncPassword, idlFromJson, idlToJson, parseCfg, readXlConf, resolveDomainConfig, withLibxlDefaults } from '../config/index.js';
import { layoutProblem, saveFileHeader } from './savefile.js';
import type { LibxlJsonObject } from '../config/index.js';
import type { DomainConfig } from '../config/index.js';
import type { Duplex } from 'node:stream';
import { consoleName, findConsole, primaryConsoleName, xlConsoles } from '../console/index.js';
import { Dmesg } from '../console/index.js';
import type { ConsoleHub, ConsoleType } from '../console/index.js';
import { defaultSched, DEVICE_KINDS, diskWarnings, DOM0_NAME, libxlError, qemuLogPath, TRIGGER_NAMES, withLiveSched, xenFlags } from '../domain/index.js';
import type { CpuPool, DeviceEntry, DeviceKind, DomainDevice, DomainManager, DomainRecord, NewDomain, StartOptions, TriggerName, XenStateFlags } from '../domain/index.js';
import { freeForGuestsKiB, onlineCpus, readFileTail, readHostCpuSched, readHostFacts, readHostStats, readPsrFeatures } from '../host/index.js';
import { readSubtree } from '../xenstore/index.js';
import type { XenstoreClient } from '../xenstore/index.js';
import { MACHINE_VCPU_LIMIT } from '../qemu/index.js';
import type { MachineLayout } from '../qemu/index.js';
import { listConfigDir, readConfigDirFile } from './config-files.js';
import { debugKeyLines } from './debug-keys.js';
import { STREAM_ROUTES } from './routes.js';
import type { ToolstackApi } from './toolstack.js';
import type {
  AddAssignablePciRequest,
  ConfigFileList,
  ConfigFileRequest,
  ConfigFileText,
  DomainLog,
  DomainSource,
  DomainXenstore,
  DebugKeysRequest,
  DebugKeysResult,
  DmesgRequest,
  DmesgText,
  ParseConfigRequest,
  ParsedConfig,
  AssignablePciChange,
  AssignablePciList,
  ChannelInfo,
  AttachDeviceRequest,
  ChangeMediaRequest,
  ConsoleAttachment,
  ConsoleAttachRequest,
  CreateDomainRequest,
  DaemonInfo,
  DestroyDomainRequest,
  DetachDeviceRequest,
  DeviceDetached,
  DeviceInfo,
  RemoveAssignablePciRequest,
  DomainConfigEntry,
  DomainIdentity,
  DomainInfo,
  DomainRefRequest,
  DomainStats,
  HostInfo,
  ListDevicesRequest,
  MediaChanged,
  MemoryInfo,
  RenameDomainRequest,
  CoreDumped,
  DumpCoreRequest,
  ClaimMigrationRequest,
  UnpauseRequest,
  MigrateDomainRequest,
  MonitorCommandRequest,
  SetVcpusRequest,
  VcpuAffinityRequest,
  VcpuAffinityResult,
  VcpuList,
  VcpusSet,
  MigrationProgress,
  MigrationResult,
  SaveDomainRequest,
  SaveResult,
  SetMemoryRequest,
  StatsSample,
  SysrqRequest,
  SysrqResult,
  TriggerRequest,
  TriggerResult,
  UpdateDomainConfigRequest,
  VncInfo,
  MachineLayoutInfo,
  SetXenstoreQuotaRequest,
  XenstoreQuota,
  XenstoreQuotaScope,
  CpupoolCpusRequest,
  CpupoolCpusResult,
  CpupoolInfo,
  CpupoolRef,
  CreateCpupoolRequest,
  CpuReservation,
  DomainSchedInfo,
  MigrateToCpupoolRequest,
  RenameCpupoolRequest,
  SchedulingInfo,
  SetDomainSchedRequest,
  SetPoolSchedRequest,
  SetVcpuSchedRequest,
  VcpuReservation,
} from './types.js';
import { MAX_CONFIG_TEXT_BYTES } from './types.js';

/** Domain-0's uuid in Xen: all zeros. */
const DOM0_UUID = '00000000-0000-0000-0000-000000000000';
/** Keys one `xl debug-keys` may send: a bound, so that one request cannot run handlers without end. */
const MAX_DEBUG_KEYS = 128;
/** The most xenstore nodes `getDomainXenstore` returns. */
const MAX_XENSTORE_NODES = 2000;
/** How much of a log's end `getDomainLog` returns. */
const MAX_LOG_TAIL_BYTES = 64 << 10;

/**
 * dom0d's implementation of the API over the domain layer. Requests arrive as untrusted JSON:
 * every method checks the fields it reads. Domain-0 (the host) answers the read operations and
 * refuses the lifecycle ones.
 *
 * Adding a QEMU-backed operation: declare it in `ToolstackApi` with its request/response types,
 * give it a route in `API_ROUTES`, and implement it here by resolving the ref and calling the
 * matching `DomainManager` method (which runs it as the domain's job through the driver).
 */
export class ToolstackService implements ToolstackApi {
  readonly #manager: DomainManager;
  readonly #paths: Dom0Paths;
  readonly #startedAt: number;
  readonly #accel: (() => Promise<NonNullable<HostInfo['accel']>>) | undefined;
  readonly #consoles: ConsoleHub | undefined;
  readonly #xenstore: (() => XenstoreClient) | undefined;
  readonly #dmesg: Dmesg;

  constructor(manager: DomainManager, options: {
    readonly paths: Dom0Paths;
    readonly startedAt: number;
    /** The accelerator choice, when the machine layer runs QEMU. */
    readonly accel?: () => Promise<NonNullable<HostInfo['accel']>>;
    /** The domains' consoles (`attachConsole` streams). */
    readonly consoles?: ConsoleHub;
    /** A new privileged client of dom0d's xenstored (`xl xenstore-quota-*`). */
    readonly xenstore?: () => XenstoreClient;
    /** dom0's console ring (`xl dmesg`, `xl debug-keys`); an empty one when not given. */
    readonly dmesg?: Dmesg;
  }) {
    this.#manager = manager;
    this.#paths = options.paths;
    this.#startedAt = options.startedAt;
    this.#accel = options.accel;
    this.#consoles = options.consoles;
    this.#xenstore = options.xenstore;
    this.#dmesg = options.dmesg ?? Dmesg.open(undefined);
  }

  async daemonInfo(): Promise<DaemonInfo> {
    return { pid: process.pid, startedAt: this.#startedAt, paths: this.#paths, domains: this.#manager.registry.size };
  }

  async hostInfo(): Promise<HostInfo> {
    const h = readHostStats();
    const a = await this.#accel?.().catch(() => undefined);
    const facts = readHostFacts();
    const guestsKiB = this.#manager.guestsKiB();
    return {
      memKiB: h.memKiB, cpus: h.cpus, cpuTimeNs: h.cpuTimeNs, uptimeSec: h.uptimeSec,
      facts,
      guestsKiB,
      freeKiB: freeForGuestsKiB(facts, guestsKiB),
      psr: readPsrFeatures(),
      ...(a === undefined ? {} : { accel: { accel: a.accel, source: a.source, reason: a.reason } }),
    };
  }

  async listDomains(): Promise<DomainInfo[]> {
    const now = Date.now();
    const guests = await Promise.all(this.#manager.registry.list().map((r) => this.#info(r, now)));
    return [this.#dom0Info(), ...guests];
  }

  async domainStats(): Promise<StatsSample> {
    const timeMs = Date.now();
    const facts = readHostFacts();
    const domains = await Promise.all((await this.listDomains()).map(async (d): Promise<DomainStats> => {
      const rec = d.domid === 0 ? undefined : this.#manager.registry.get(d.domid);
      if (rec === undefined) return { ...d, maxMemKiB: null, vcpuTimesNs: [], nets: [], vbds: [] };
      const m = await this.#manager.driver.machineStats?.(rec).catch(() => undefined);
      return { ...d, maxMemKiB: domainMemory(rec.config).maxKiB, vcpuTimesNs: m?.vcpuTimesNs ?? [], nets: m?.nets ?? [], vbds: m?.vbds ?? [] };
    }));
    return {
      timeMs, totalKiB: facts.totalKiB, freeKiB: freeForGuestsKiB(facts, this.#manager.guestsKiB()),
      cpus: facts.cpus.length, cpuKhz: facts.cpuKhz, domains,
    };
  }

  async getDomain(req: DomainRefRequest): Promise<DomainInfo> {
    const ref = refOf(req);
    if (isDom0(ref)) return this.#dom0Info();
    return this.#info(this.#manager.resolve(ref), Date.now());
  }

  async listDomainConfigs(): Promise<DomainConfigEntry[]> {
    return this.#manager.registry.list().map((r) => ({ domid: r.domid, config: idlToJson(DOMAIN_CONFIG, withLiveSched(r.config, r.sched)) }));
  }

  async getDomainConfig(req: DomainRefRequest): Promise<DomainConfigEntry> {
    const ref = refOf(req);
    if (isDom0(ref)) throw new ToolstackError('NOT_SUPPORTED', 'Domain-0 has no stored config: it is the host');
    const r = this.#manager.resolve(ref);
    return { domid: r.domid, config: idlToJson(DOMAIN_CONFIG, withLiveSched(r.config, r.sched)) };
  }

  async createDomain(req: CreateDomainRequest): Promise<DomainInfo> {
    const rec = await this.#manager.create(newDomainOf(req), { paused: req.paused === true, ...incomingOf(req), ...layoutOf(req) });
    const warnings = req.incoming === undefined && req.restore === undefined ? diskWarnings(rec.config.disks ?? [], `disk= in ${rec.source}`) : [];
    return { ...await this.#info(rec, Date.now()), ...(warnings.length === 0 ? {} : { warnings }) };
  }

  /** Test-only (`TEST_ROUTES.registerDomain`): a running domain with no machine. */
  async registerDomain(req: CreateDomainRequest): Promise<DomainInfo> {
    return this.#info(await this.#manager.register(newDomainOf(req)), Date.now());
  }

  async destroyDomain(req: DestroyDomainRequest): Promise<DomainIdentity> {
    const ref = refOf(req);
    if (isDom0(ref)) {
      if (req.force !== true) {
        throw new ToolstackError('NOT_SUPPORTED', 'Not destroying domain 0', {
          lines: ['Not destroying domain 0; use -f to force.', 'This can only be done when using a disaggregated hardware domain and toolstack.', ''],
        });
      }
      throw dom0Refuses('destroy');
    }
    let rec: DomainRecord;
    try {
      rec = this.#manager.resolve(ref);
    } catch (e: unknown) {
      // A domain between its end and its on_* restart has no record, only its name.
      const cancelled = isToolstackError(e, 'DOMAIN_NOT_FOUND') && !/^\d+$/.test(ref) ? await this.#manager.cancelRestart(ref) : undefined;
      if (cancelled === undefined) throw e;
      return { domid: cancelled.from, name: ref, uuid: cancelled.init.config.c_info?.uuid ?? '' };
    }
    await this.#manager.destroy(rec.domid);
    return { domid: rec.domid, name: rec.name, uuid: rec.uuid };
  }

  shutdownDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'shut down', (domid) => this.#manager.shutdown(domid));
  }

  rebootDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'reboot', (domid) => this.#manager.reboot(domid));
  }

  pauseDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'pause', (domid) => this.#manager.pause(domid));
  }

  unpauseDomain(req: UnpauseRequest): Promise<DomainInfo> {
    const holder = req.holder as unknown;
    if (holder !== undefined && !(typeof holder === 'number' && Number.isSafeInteger(holder) && holder > 0)) throw badRequest("'holder' must be a process id");
    return this.#lifecycle(req, 'unpause', (domid) => this.#manager.unpause(domid, holder));
  }

  suspendDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'suspend', (domid) => this.#manager.suspend(domid));
  }

  resumeDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'resume', (domid) => this.#manager.resume(domid));
  }

  async renameDomain(req: RenameDomainRequest): Promise<DomainInfo> {
    const name = req.name as unknown;
    const from = req.from as unknown;
    if (typeof name !== 'string') throw badRequest("'name' must be a string");
    if (from !== undefined && typeof from !== 'string') throw badRequest("'from' must be a string");
    return this.#lifecycle(req, 'rename', (domid) => this.#manager.rename(domid, name, from));
  }

  async attachConsole(req: ConsoleAttachRequest): Promise<ConsoleAttachment> {
    const ref = refOf(req);
    if (isDom0(ref)) throw new ToolstackError('NOT_SUPPORTED', "Can't specify Domain-0", { lines: ["Can't specify Domain-0"] });
    const rec = this.#manager.resolve(ref);
    const type = req.type as unknown;
    const num = req.num as unknown;
    if (type !== undefined && !isConsoleType(type)) throw badRequest("'type' must be pv, serial or vuart");
    if (num !== undefined && !(typeof num === 'number' && Number.isInteger(num) && num >= 0)) throw badRequest("'num' must be a console number");
    const want = type === undefined ? primaryConsoleName(guestTypeOf(rec.config)) : { type, num: typeof num === 'number' ? num : 0 };
    const c = findConsole(rec, want.type, want.num);
    if (c === undefined) {
      const have = xlConsoles(rec).map((x) => `${consoleName(x).type} ${consoleName(x).num}`);
      throw new ToolstackError('NOT_SUPPORTED', `Domain '${rec.name}' has no ${want.type} console ${want.num}`, {
        lines: ['Unable to attach console'],
        hint: want.type === 'vuart' ? 'vuart consoles exist on Arm only; use -t pv or -t serial'
          : have.length === 0 ? `domain '${rec.name}' has no console` : `domain '${rec.name}' has: ${have.join(', ')} (xl console -t TYPE -n NUM)`,
      });
    }
    const name = consoleName(c);
    return {
      domid: rec.domid, name: rec.name, type: name.type, num: name.num, id: c.id,
      stream: `${STREAM_ROUTES.consoleStream.path.replace(':ref', String(rec.domid))}?id=${encodeURIComponent(c.id)}`,
    };
  }

  /**
   * Serves the console a `consoleStream` request names on `client` (see `ConsoleAttachment`);
   * `ready` is called (to send the `101`) once the console is known to be connected, before its
   * first byte. `remote`: the client came over TCP (see `ConsoleHub.stream`).
   */
  async streamConsole(req: { readonly ref: string; readonly id: string }, client: Duplex, ready: () => void, remote = false): Promise<void> {
    const rec = this.#manager.resolve(refOf(req));
    if (this.#consoles === undefined) throw new ToolstackError('NOT_SUPPORTED', 'This dom0d serves no consoles');
    await this.#consoles.stream(rec.domid, req.id, client, ready, remote);
  }

  async sendTrigger(req: TriggerRequest): Promise<TriggerResult> {
    const trigger = req.trigger as unknown;
    if (typeof trigger !== 'string' || !(TRIGGER_NAMES as readonly string[]).includes(trigger)) {
      throw new ToolstackError('USAGE', `Invalid trigger "${String(trigger)}"`, { lines: [`Invalid trigger "${String(trigger)}"`] });
    }
    const vcpu = req.vcpu ?? 0;
    const domid = this.#guest(req, 'send trigger to').domid;
    const { record, via } = await this.#manager.trigger(domid, trigger as TriggerName, vcpu);
    return { domid: record.domid, name: record.name, trigger: trigger as TriggerName, vcpu, qmp: via };
  }

  async sendSysrq(req: SysrqRequest): Promise<SysrqResult> {
    const key = req.key as unknown;
    if (typeof key !== 'string' || [...key].length !== 1) {
      throw new ToolstackError('USAGE', 'Invalid sysrq.', { lines: ['Invalid sysrq.', ''] });
    }
    const domid = this.#guest(req, 'send sysrq to').domid;
    const { record, xenstorePath, keys } = await this.#manager.sysrq(domid, key);
    return { domid: record.domid, name: record.name, key, xenstorePath, keys };
  }

  async setMemory(req: SetMemoryRequest): Promise<MemoryInfo> {
    const sizes = { targetKiB: req.targetKiB as unknown, maxKiB: req.maxKiB as unknown };
    for (const [field, v] of Object.entries(sizes)) {
      if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v > 0)) {
        throw new ToolstackError('MEMORY', `Invalid memory size ${field}=${JSON.stringify(v)}: a whole number of KiB above 0 is needed`);
      }
    }
    if (sizes.targetKiB === undefined && sizes.maxKiB === undefined) throw new ToolstackError('USAGE', 'setMemory needs targetKiB or maxKiB');
    const domid = this.#guest(req, 'set the memory of').domid;
    const { record, targetKiB, maxKiB, machineKiB } = await this.#manager.setMemory(domid, {
      ...(req.targetKiB === undefined ? {} : { targetKiB: req.targetKiB }),
      ...(req.maxKiB === undefined ? {} : { maxKiB: req.maxKiB }),
    });
    return { domid: record.domid, name: record.name, targetKiB, maxKiB, machineKiB };
  }

  async saveDomain(req: SaveDomainRequest): Promise<SaveResult> {
    const file = req.file as unknown;
    if (!isAbsolutePath(file)) throw badRequest("'file' must be an absolute path");
    const rec = this.#guest(req, 'save');
    const given = req.config === undefined ? undefined : withLibxlDefaults(idlFromJson(DOMAIN_CONFIG, req.config));
    const header = (now: DomainRecord, layout: MachineLayout | undefined): Buffer => {
      const json = idlToJson(DOMAIN_CONFIG, given ?? withLiveSched(now.config, now.sched)) as Record<string, unknown>;
      const cInfo = (json['c_info'] ?? {}) as Record<string, unknown>;
      return saveFileHeader(JSON.stringify({ ...json, c_info: { ...cInfo, domid: req.preserveDomid === true ? now.domid : 0 } }, null, 4), layout);
    };
    const { bytes, record, header: written } = await this.#manager.save(rec.domid, {
      file, header, checkpoint: req.checkpoint === true, leavePaused: req.paused === true,
    });
    return {
      domid: rec.domid, name: rec.name, file, bytes, mandatoryFlags: written.readUInt32LE(36),
      optionalFlags: written.readUInt32LE(40), optionalDataBytes: written.readUInt32LE(44), configBytes: written.readUInt32LE(48),
      domain: record === undefined ? null : await this.#info(this.#manager.registry.get(record.domid) ?? record, Date.now()),
    };
  }

  async migrateDomain(req: MigrateDomainRequest): Promise<MigrationResult> {
    const fifo = req.fifo as unknown;
    if (!isAbsolutePath(fifo)) throw badRequest("'fifo' must be an absolute path");
    if (!isFifo(fifo)) throw badRequest(`'fifo' must name a named pipe: ${fifo} is none`);
    const holder = req.holder as unknown;
    if (holder !== undefined && (typeof holder !== 'number' || !Number.isSafeInteger(holder) || holder <= 0)) throw badRequest("'holder' must be a pid");
    const rec = this.#guest(req, 'migrate');
    const { record, stats } = await this.#manager.migrateOut(rec.domid, fifo, holder);
    return { domid: record.domid, name: record.name, ...stats };
  }

  async claimMigration(req: ClaimMigrationRequest): Promise<DomainInfo> {
    const holder = req.holder as unknown;
    if (typeof holder !== 'number' || !Number.isSafeInteger(holder) || holder <= 0) throw badRequest("'holder' must be a pid");
    const rec = this.#guest(req, 'migrate');
    return this.#info(await this.#manager.claimMigration(rec.domid, holder), Date.now());
  }

  endMigration(req: DomainRefRequest): Promise<DomainInfo> {
    const rec = this.#guest(req, 'end the migration of');
    this.#manager.endMigration(rec.domid);
    return this.#info(rec, Date.now());
  }

  async getMigrationProgress(req: DomainRefRequest): Promise<MigrationProgress> {
    const rec = this.#guest(req, 'follow the migration of');
    const driver = this.#manager.driver;
    if (driver.migrationProgress === undefined) throw new ToolstackError('NOT_SUPPORTED', `Cannot follow the migration of domain '${rec.name}': its machine cannot migrate`);
    return { domid: rec.domid, name: rec.name, ...await driver.migrationProgress(rec) };
  }

  async getXenstoreQuota(req: XenstoreQuotaScope): Promise<XenstoreQuota[]> {
    const domid = quotaScopeOf(req);
    return this.#withXenstore(async (xs) => {
      const quotas: XenstoreQuota[] = [];
      for (const name of await xs.getQuotaNames()) quotas.push({ name, value: await xs.getQuota(name, domid) });
      return quotas;
    });
  }

  async setXenstoreQuota(req: SetXenstoreQuotaRequest): Promise<XenstoreQuota[]> {
    const domid = quotaScopeOf(req);
    const quotas = req.quotas as unknown;
    if (!Array.isArray(quotas) || !quotas.every((q: unknown) => typeof (q as XenstoreQuota | null)?.name === 'string' && Number.isInteger((q as XenstoreQuota).value))) {
      throw badRequest("'quotas' must be a list of {name, value} with integer values");
    }
    await this.#withXenstore(async (xs) => {
      for (const q of quotas as XenstoreQuota[]) await xs.setQuota(q.name, q.value, domid);
    });
    return this.getXenstoreQuota(req);
  }

  async getScheduling(): Promise<SchedulingInfo> {
    const s = this.#manager.sched;
    const host = s.pools.host;
    return {
      scheduler: host.scheduler, cpus: host.cpus, freeCpus: s.freeCpus(), pools: s.pools.list().map((p) => this.#poolInfo(p)),
      domains: [{ domid: 0, name: DOM0_NAME, ...defaultSched(0, host.cpus.length) }, ...this.#manager.registry.list().map(schedInfo)],
    };
  }

  async setDomainSched(req: SetDomainSchedRequest): Promise<DomainSchedInfo> {
    const sched = req.sched as unknown;
    if (sched !== 'credit' && sched !== 'credit2') throw badRequest("'sched' must be credit or credit2");
    const change = { ...optionalInt(req, 'weight'), ...optionalInt(req, 'cap') };
    const rec = this.#guest(req, 'set the scheduler parameters of');
    return schedInfo(await this.#manager.sched.setShare(rec.domid, sched, change));
  }

  async setVcpuSched(req: SetVcpuSchedRequest): Promise<DomainSchedInfo> {
    const vcpus = req.vcpus as unknown;
    const all = req.all as unknown;
    if ((vcpus === undefined) === (all === undefined)) throw badRequest("give 'vcpus' (a list of {vcpuid, period, budget, extratime}) or 'all' ({period, budget, extratime})");
    const change = all !== undefined ? { all: reservationOf(all) }
      : Array.isArray(vcpus) && vcpus.length > 0 ? { vcpus: vcpus.map((v: unknown): VcpuReservation => ({ ...reservationOf(v), vcpuid: intOf((v as { vcpuid?: unknown }).vcpuid, 'vcpuid') })) }
        : undefined;
    if (change === undefined) throw badRequest("'vcpus' must be a non-empty list");
    const rec = this.#guest(req, 'set the scheduler parameters of');
    return schedInfo(await this.#manager.sched.setReservations(rec.domid, change));
  }

  async setPoolSched(req: SetPoolSchedRequest): Promise<CpupoolInfo> {
    const sched = req.sched as unknown;
    if (sched !== 'credit' && sched !== 'credit2') throw badRequest("'sched' must be credit or credit2");
    const change = { ...optionalInt(req, 'tsliceMs'), ...optionalInt(req, 'ratelimitUs'), ...optionalInt(req, 'migrationDelayUs') };
    return this.#poolInfo(await this.#manager.sched.setPoolParams(poolRefOf(req), sched, change));
  }

  async createCpupool(req: CreateCpupoolRequest): Promise<CpupoolInfo> {
    const name = req.name as unknown;
    const sched = req.sched as unknown;
    if (typeof name !== 'string') throw badRequest("'name' must be a pool name");
    if (typeof sched !== 'string') throw badRequest("'sched' must be a scheduler name");
    return this.#poolInfo(await this.#manager.sched.createPool({ name, sched, cpus: cpusOf(req) }));
  }

  async destroyCpupool(req: CpupoolRef): Promise<CpupoolInfo> {
    return this.#poolInfo(await this.#manager.sched.destroyPool(poolRefOf(req)), 0);
  }

  async renameCpupool(req: RenameCpupoolRequest): Promise<CpupoolInfo> {
    const name = req.name as unknown;
    if (typeof name !== 'string') throw badRequest("'name' must be a string");
    return this.#poolInfo(await this.#manager.sched.renamePool(poolRefOf(req), name));
  }

  async addCpupoolCpus(req: CpupoolCpusRequest): Promise<CpupoolCpusResult> {
    const r = await this.#manager.sched.addCpus(poolRefOf(req), cpusOf(req));
    return { pool: this.#poolInfo(r.pool), errors: r.errors };
  }

  async removeCpupoolCpus(req: CpupoolCpusRequest): Promise<CpupoolCpusResult> {
    const r = await this.#manager.sched.removeCpus(poolRefOf(req), cpusOf(req));
    return { pool: this.#poolInfo(r.pool), errors: r.errors };
  }

  async migrateToCpupool(req: MigrateToCpupoolRequest): Promise<DomainSchedInfo> {
    const pool = poolRefOf(req);
    if (isDom0(refOf(req))) {
      this.#manager.sched.pools.resolve(pool);
      // Xen refuses to move the domain that asks (EPERM); libxl's line has no domain for domid 0.
      const line = libxlError('libxl_cpupool.c:437:libxl_cpupool_movedomain', 0, 'Error moving domain to cpupool');
      throw new ToolstackError('CPUPOOL', line, { lines: [line], hint: 'Domain-0 is the host: it stays in Pool-0' });
    }
    const rec = this.#manager.resolve(refOf(req));
    return schedInfo(await this.#manager.sched.migrate(rec.domid, pool));
  }

  async numaSplitCpupools(): Promise<CpupoolInfo[]> {
    return (await this.#manager.sched.numaSplit()).map((p) => this.#poolInfo(p));
  }

  #poolInfo(p: CpuPool, domains = this.#manager.sched.domainsIn(p.poolid)): CpupoolInfo {
    return { poolid: p.poolid, name: p.name, sched: p.sched, cpus: p.cpus, domains, params: p.params };
  }

  /** Runs `fn` on a privileged connection to dom0d's xenstored (XS_PROTOCOL errors as xenstored answered). */
  async #withXenstore<T>(fn: (xs: XenstoreClient) => Promise<T>): Promise<T> {
    if (this.#xenstore === undefined) throw new ToolstackError('NOT_SUPPORTED', 'This dom0d runs no xenstored');
    const xs = this.#xenstore();
    try {
      return await fn(xs);
    } finally {
      xs.close();
    }
  }

  async dumpCore(req: DumpCoreRequest): Promise<CoreDumped> {
    const file = req.file as unknown;
    if (!isAbsolutePath(file)) throw badRequest("'file' must be an absolute path");
    const rec = await this.#manager.dumpCore(this.#guest(req, 'dump the core of').domid, file);
    return { domid: rec.domid, name: rec.name, file, bytes: statSync(file).size };
  }

  /**
   * Domain-0 is the host: its vCPU i is the i-th CPU dom0d may run on, pinned there (as Xen's
   * `dom0_vcpus_pin`), running when a task is runnable on it, with the CPU's busy time.
   */
  async parseConfig(req: ParseConfigRequest): Promise<ParsedConfig> {
    const text = req.text as unknown;
    const source = req.source as unknown;
    if (typeof text !== 'string' || Buffer.byteLength(text) > MAX_CONFIG_TEXT_BYTES) throw badRequest(`'text' must be a string of at most ${MAX_CONFIG_TEXT_BYTES >> 20} MiB`);
    if (source !== undefined && typeof source !== 'string') throw badRequest("'source' must be a string");
    const resolved = resolveDomainConfig(parseCfg(text, { source: source ?? 'config' }), {
      xlConf: readXlConf(this.#paths.configDir), hostCpus: onlineCpus().length, vcpuLimit: MACHINE_VCPU_LIMIT,
    });
    return { config: idlToJson(DOMAIN_CONFIG, resolved.config), warnings: resolved.warnings };
  }

  async listConfigFiles(): Promise<ConfigFileList> {
    return listConfigDir(this.#paths.configDir);
  }

  async readConfigFile(req: ConfigFileRequest): Promise<ConfigFileText> {
    const name = req.name as unknown;
    if (typeof name !== 'string') throw badRequest("'name' must be a file name");
    return readConfigDirFile(this.#paths.configDir, name);
  }

  async getDomainSource(req: DomainRefRequest): Promise<DomainSource> {
    const ref = refOf(req);
    if (isDom0(ref)) throw new ToolstackError('NOT_SUPPORTED', 'Domain-0 was not created from a config: it is the host');
    const r = this.#manager.resolve(ref);
    const inConfigDir = r.source.startsWith('/') && dirname(r.source) === this.#paths.configDir;
    const file = inConfigDir ? await readConfigDirFile(this.#paths.configDir, basename(r.source)).catch((e: unknown) => {
      if (e instanceof ToolstackError) return null;
      throw e;
    }) : null;
    // By content where the text it was made from is kept (a clock set back, a copy that keeps its
    // mtime, a file touched unchanged: the mtime says wrong), else by the file's time.
    const modifiedSince = file !== null && (r.sourceText !== undefined ? file.text !== r.sourceText : file.mtimeMs > r.createdAt);
    return { domid: r.domid, name: r.name, source: r.source, text: r.sourceText ?? null, file, modifiedSince };
  }

  async getDomainXenstore(req: DomainRefRequest): Promise<DomainXenstore> {
    const { domid, name } = this.#domainOrDom0(req);
    const path = `/local/domain/${domid}`;
    const { nodes, truncated } = await this.#withXenstore((xs) => readSubtree(xs, path, MAX_XENSTORE_NODES));
    return { domid, name, path, nodes, truncated };
  }

  async getDomainLog(req: DomainRefRequest): Promise<DomainLog> {
    const { domid, name } = this.#domainOrDom0(req);
    const file = domid === 0 ? this.#paths.dom0dLog : qemuLogPath(this.#paths, name);
    const tail = await readFileTail(file, MAX_LOG_TAIL_BYTES);
    return { domid, name, file, size: tail?.size ?? 0, text: tail?.text ?? '', truncated: tail?.truncated ?? false };
  }

  async updateDomainConfig(req: UpdateDomainConfigRequest): Promise<DomainConfigEntry> {
    const config = withLibxlDefaults(idlFromJson(DOMAIN_CONFIG, req.config));
    const rec = await this.#manager.updateConfig(this.#guest(req, 'update the config of').domid, config);
    return { domid: rec.domid, config: idlToJson(DOMAIN_CONFIG, config) };
  }

  async listChannels(req: DomainRefRequest): Promise<ChannelInfo[]> {
    if (isDom0(refOf(req))) return [];
    const rec = this.#manager.resolve(refOf(req));
    return (rec.config.channels ?? []).map((c, i) => {
      const devid = c.devid !== undefined && c.devid >= 0 ? c.devid : i;
      const pty = c.connection !== 'socket';
      return {
        devid, name: c.name ?? '', backendId: 0, state: rec.qemuPid === null ? 1 : 4, evtch: -1, rref: -1,
        connection: pty ? 'pty' : 'socket',
        path: pty ? (rec.consoles.find((x) => x.kind === 'channel' && x.index === devid)?.tty ?? null) : (c.u?.socket?.path ?? null),
      };
    });
  }

  async readDmesg(req: DmesgRequest): Promise<DmesgText> {
    const clear = req.clear as unknown;
    if (clear !== undefined && typeof clear !== 'boolean') throw badRequest("'clear' must be a boolean");
    return { text: this.#dmesg.read(clear === true) };
  }

  async sendDebugKeys(req: DebugKeysRequest): Promise<DebugKeysResult> {
    const keys = req.keys as unknown;
    if (typeof keys !== 'string') throw badRequest("'keys' must be a string of keys");
    // No key is nothing to do, as Xen's hypercall does nothing for an empty string.
    if (keys.length > MAX_DEBUG_KEYS) {
      throw new ToolstackError('USAGE', `Too many debug keys at once: ${keys.length} (at most ${MAX_DEBUG_KEYS})`, { hint: 'send the rest with another xl debug-keys' });
    }
    const lines: string[] = [];
    for (const key of keys) {
      const out = await debugKeyLines(key, this);
      for (const l of out) this.#dmesg.host(l);
      lines.push(...out);
    }
    return { lines };
  }

  async listVcpus(req: DomainRefRequest): Promise<VcpuList> {
    const nrCpus = Math.max(0, ...onlineCpus()) + 1;
    if (isDom0(refOf(req))) {
      const vcpus = readHostCpuSched().map((c, vcpu) => ({
        vcpu, online: true, cpu: c.cpu, running: c.runnable, blocked: !c.runnable, timeNs: c.busyNs, hard: [c.cpu], soft: null,
      }));
      return { domid: 0, name: DOM0_NAME, nrCpus, vcpus };
    }
    const { record, vcpus } = await this.#manager.listVcpus(this.#manager.resolve(refOf(req)).domid);
    return { domid: record.domid, name: record.name, nrCpus, vcpus };
  }

  async setVcpuAffinity(req: VcpuAffinityRequest): Promise<VcpuAffinityResult> {
    const vcpu = req.vcpu as unknown;
    if (vcpu !== 'all' && !(typeof vcpu === 'number' && Number.isSafeInteger(vcpu) && vcpu >= 0)) throw badRequest("'vcpu' must be a vCPU number or 'all'");
    const hard = cpuMapOf(req.hard, 'hard');
    const soft = cpuMapOf(req.soft, 'soft');
    const rec = this.#guest(req, 'pin the vCPUs of');
    const { warnings } = await this.#manager.setVcpuAffinity(rec.domid, { vcpu, ...(hard === undefined ? {} : { hard }), ...(soft === undefined ? {} : { soft }) });
    return { ...await this.listVcpus({ ref: String(rec.domid) }), warnings };
  }

  async setVcpus(req: SetVcpusRequest): Promise<VcpusSet> {
    const count = req.count as unknown;
    if (!(typeof count === 'number' && Number.isSafeInteger(count) && count >= 0)) throw badRequest("'count' must be a number of vCPUs");
    const rec = this.#guest(req, 'set the vCPUs of');
    const { pending } = await this.#manager.setVcpus(rec.domid, count);
    return { ...await this.listVcpus({ ref: String(rec.domid) }), pending };
  }

  async monitorCommand(req: MonitorCommandRequest): Promise<{ readonly output: string }> {
    const command = req.command as unknown;
    if (typeof command !== 'string') throw badRequest("'command' must be a string");
    return { output: await this.#manager.monitorCommand(this.#guest(req, 'send a monitor command to').domid, command) };
  }

  async getMachineLayout(req: DomainRefRequest): Promise<MachineLayoutInfo> {
    const { record, layout } = await this.#manager.machineLayout(this.#guest(req, 'read the machine layout of').domid);
    return { domid: record.domid, name: record.name, ...layout };
  }

  async getVnc(req: DomainRefRequest): Promise<VncInfo> {
    const domid = this.#guest(req, 'use the VNC display of').domid;
    const { record, vnc } = await this.#manager.vnc(domid);
    if (vnc === undefined) {
      throw new ToolstackError('NOT_SUPPORTED', `Domain '${record.name}' has no VNC display`, {
        lines: ['Cannot get vnc-port'],
        hint: guestTypeOf(record.config) === 'hvm' ? 'its config disables VNC (vnc=0 or nographic=1)' : 'give it one: vfb = [ "vnc=1" ]',
      });
    }
    return { domid: record.domid, name: record.name, host: vnc.host, port: vnc.port, display: vnc.port - 5900, password: domainVncPassword(record.config) ?? null };
  }

  async attachDevice(req: AttachDeviceRequest): Promise<DeviceInfo> {
    const kind = kindOf(req);
    const device = deviceFromJson(kind, req.device);
    const rec = this.#guest(req, `attach a ${KIND_NOUN[kind]} to`);
    const { record, entry } = await this.#manager.attachDevice(rec.domid, device);
    if (entry === undefined) throw new BugError(`domain ${record.domid}: its new ${kind} device has no xenstore nodes`);
    const warnings = device.kind === 'vbd' ? diskWarnings([device.disk], 'the block-attach arguments') : [];
    return { ...deviceInfo(record, entry), ...(warnings.length === 0 ? {} : { warnings }) };
  }

  async detachDevice(req: DetachDeviceRequest): Promise<DeviceDetached> {
    const kind = kindOf(req);
    const id = req.id as unknown;
    const force = req.force as unknown;
    if (typeof id !== 'string' || id === '') throw badRequest("'id' must name a device");
    if (force !== undefined && typeof force !== 'boolean') throw badRequest("'force' must be a boolean");
    const rec = this.#guest(req, 'detach a device from');
    const { record, device, released } = await this.#manager.detachDevice(rec.domid, kind, id, { force: force === true });
    return { domid: record.domid, name: record.name, kind, device: deviceToJson(device), released };
  }

  async listDevices(req: ListDevicesRequest): Promise<DeviceInfo[]> {
    const kind = kindOf(req);
    if (isDom0(refOf(req))) return [];
    const { record, entries } = await this.#manager.listDevices(this.#manager.resolve(refOf(req)).domid, kind);
    return entries.map((e) => deviceInfo(record, e));
  }

  async changeMedia(req: ChangeMediaRequest): Promise<MediaChanged> {
    const disk = idlFromJson(DEVICE_DISK, req.disk);
    const rec = this.#guest(req, 'change the media of');
    const { record, disk: now } = await this.#manager.changeMedia(rec.domid, disk);
    return { domid: record.domid, name: record.name, disk: idlToJson(DEVICE_DISK, now) };
  }

  async listAssignablePci(): Promise<AssignablePciList> {
    return this.#manager.listAssignablePci();
  }

  async addAssignablePci(req: AddAssignablePciRequest): Promise<AssignablePciChange> {
    const bdf = req.bdf as unknown;
    const name = req.name as unknown;
    if (typeof bdf !== 'string') throw badRequest("'bdf' must be a PCI address DDDD:BB:DD.F");
    if (name !== undefined && typeof name !== 'string') throw badRequest("'name' must be a string");
    return this.#manager.addAssignablePci(bdf, name);
  }

  async removeAssignablePci(req: RemoveAssignablePciRequest): Promise<AssignablePciChange> {
    const ident = req.ident as unknown;
    const rebind = req.rebind as unknown;
    if (typeof ident !== 'string' || ident === '') throw badRequest("'ident' must be a BDF or a device name");
    if (rebind !== undefined && typeof rebind !== 'boolean') throw badRequest("'rebind' must be a boolean");
    return this.#manager.removeAssignablePci(ident, rebind === true);
  }

  /** The domain `req` names, Domain-0 (the host) included. */
  #domainOrDom0(req: DomainRefRequest): { readonly domid: number; readonly name: string } {
    const ref = refOf(req);
    return isDom0(ref) ? { domid: 0, name: DOM0_NAME } : this.#manager.resolve(ref);
  }

  /** The guest `req` names; Domain-0 refuses `what`. */
  #guest(req: DomainRefRequest, what: string): DomainRecord {
    const ref = refOf(req);
    if (isDom0(ref)) throw dom0Refuses(what);
    return this.#manager.resolve(ref);
  }

  async #lifecycle(req: DomainRefRequest, what: string, op: (domid: number) => Promise<DomainRecord>): Promise<DomainInfo> {
    const ref = refOf(req);
    if (isDom0(ref)) throw dom0Refuses(what);
    return this.#info(await op(this.#manager.resolve(ref).domid), Date.now());
  }

  async #info(r: DomainRecord, now: number): Promise<DomainInfo> {
    return {
      domid: r.domid,
      name: r.name,
      uuid: r.uuid,
      state: r.state,
      flags: this.#flags(r),
      shutdownReason: r.shutdownReason,
      memKiB: this.#manager.driver.currentMemKiB?.(r) ?? domainMemory(r.config).targetKiB,
      vcpus: domainVcpus(r.config).online,
      cpuTimeNs: await this.#manager.driver.cpuTimeNs(r),
      startTime: r.startTime,
      uptimeSec: r.startTime === null ? null : Math.max(0, (now - r.startTime) / 1000),
      cpupool: this.#manager.sched.pools.get(r.sched.pool)?.name ?? '',
    };
  }

  /** Xen's flags; a running domain whose vCPUs all idle is `blocked`, as Xen shows it (`-b----`). */
  #flags(r: DomainRecord): XenStateFlags {
    const f = xenFlags(r.state);
    if (!f.running || this.#manager.driver.vcpusBlocked?.(r) !== true) return f;
    return { ...f, running: false, blocked: true };
  }

  #dom0Info(): DomainInfo {
    const h = readHostStats();
    return {
      domid: 0,
      name: DOM0_NAME,
      uuid: DOM0_UUID,
      state: 'running',
      flags: xenFlags('running'),
      shutdownReason: null,
      memKiB: h.memKiB,
      vcpus: h.cpus,
      cpuTimeNs: h.cpuTimeNs,
      startTime: Date.now() - h.uptimeSec * 1000,
      uptimeSec: h.uptimeSec,
      cpupool: this.#manager.sched.pools.get(0)?.name ?? '',
    };
  }
}

function schedInfo(r: DomainRecord): DomainSchedInfo {
  return { domid: r.domid, name: r.name, ...r.sched };
}

function intOf(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badRequest(`'${name}' must be an integer`);
  return v;
}

/** `{name: value}` when the request has the integer field `name`, else `{}`. */
function optionalInt<K extends string>(req: object, name: K): Partial<Record<K, number>> {
  const v = (req as Record<string, unknown>)[name];
  return v === undefined ? {} : { [name]: intOf(v, name) } as Partial<Record<K, number>>;
}

function reservationOf(v: unknown): CpuReservation {
  const r = v as { period?: unknown; budget?: unknown; extratime?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.extratime !== 'boolean') throw badRequest('a reservation is {period, budget, extratime}');
  return { period: intOf(r.period, 'period'), budget: intOf(r.budget, 'budget'), extratime: r.extratime };
}

function poolRefOf(req: { readonly pool?: unknown }): string {
  if (typeof req.pool !== 'string' || req.pool === '') throw badRequest("'pool' must be a pool's name or poolid");
  return req.pool;
}

/** A pool's CPU list: each CPU once (as a bitmap has it), ids under MAX_CPU_ID (each bad one is a line of the reply). */
function cpusOf(req: { readonly cpus?: unknown }): number[] {
  const cpus = req.cpus;
  if (!Array.isArray(cpus) || !cpus.every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) < MAX_CPU_ID)) {
    throw badRequest(`'cpus' must be a list of CPU numbers (below ${MAX_CPU_ID})`);
  }
  return [...new Set(cpus as number[])];
}

function isConsoleType(v: unknown): v is ConsoleType {
  return v === 'pv' || v === 'serial' || v === 'vuart';
}

function guestTypeOf(config: DomainConfig): string | undefined {
  return config.c_info?.type ?? undefined;
}

/** How refusals name a device of each kind. */
const KIND_NOUN: Readonly<Record<DeviceKind, string>> = { vbd: 'disk', vif: 'network device', pci: 'PCI device', vusb: 'USB controller', usbdev: 'USB device', vkbd: 'virtual keyboard' };

function kindOf(req: { readonly kind?: unknown }): DeviceKind {
  const kind = req.kind;
  if (typeof kind !== 'string' || !(DEVICE_KINDS as readonly string[]).includes(kind)) throw badRequest(`'kind' must be one of ${DEVICE_KINDS.join(', ')}`);
  return kind as DeviceKind;
}

/** A device of `kind` from its libxl JSON, checked against the kind's IDL struct. */
function deviceFromJson(kind: DeviceKind, json: unknown): DomainDevice {
  switch (kind) {
    case 'vbd': return { kind, disk: idlFromJson(DEVICE_DISK, json) };
    case 'vif': return { kind, nic: idlFromJson(DEVICE_NIC, json) };
    case 'pci': return { kind, pci: idlFromJson(DEVICE_PCI, json) };
    case 'vusb': return { kind, usbctrl: idlFromJson(DEVICE_USBCTRL, json) };
    case 'usbdev': return { kind, usbdev: idlFromJson(DEVICE_USBDEV, json) };
    case 'vkbd': return { kind, vkb: idlFromJson(DEVICE_VKB, json) };
  }
}

function deviceToJson(device: DomainDevice): LibxlJsonObject {
  switch (device.kind) {
    case 'vbd': return idlToJson(DEVICE_DISK, device.disk);
    case 'vif': return idlToJson(DEVICE_NIC, device.nic);
    case 'pci': return idlToJson(DEVICE_PCI, device.pci);
    case 'vusb': return idlToJson(DEVICE_USBCTRL, device.usbctrl);
    case 'usbdev': return idlToJson(DEVICE_USBDEV, device.usbdev);
    case 'vkbd': return idlToJson(DEVICE_VKB, device.vkb);
  }
}

function deviceInfo(rec: DomainRecord, e: DeviceEntry): DeviceInfo {
  const x = e.xenstore;
  return {
    domid: rec.domid, name: rec.name, kind: e.device.kind, devid: e.devid, backendId: x.backendId, state: x.state, evtch: x.evtch, rref: x.rref,
    backendPath: x.backendPath, frontendPath: x.frontendPath, device: deviceToJson(e.device),
  };
}

/** A CPU map of a request: CPU ids (0 or more); undefined when absent. */
/**
 * A CPU set as the API takes it: ids under MAX_CPU_ID, each once, in order (a CPU map is a bitmap
 * in Xen). The set is copied into every vCPU's map of the stored config: a body of a million ids
 * took seconds and a gigabyte of dom0d before.
 */
function cpuMapOf(v: unknown, field: string): readonly number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((c: unknown) => typeof c === 'number' && Number.isSafeInteger(c) && c >= 0 && c < MAX_CPU_ID)) {
    throw badRequest(`'${field}' must be a list of CPU ids (below ${MAX_CPU_ID})`);
  }
  return [...new Set(v as number[])].sort((a, b) => a - b);
}

/** Above Xen's largest NR_CPUS on x86. */
const MAX_CPU_ID = 16384;

function isDom0(ref: string): boolean {
  return ref === DOM0_NAME || /^0+$/.test(ref);
}

function refOf(req: DomainRefRequest | undefined): string {
  const ref = req?.ref as unknown;
  if (typeof ref !== 'string' || ref === '') throw badRequest("'ref' must be a domain id or name");
  return ref;
}

/** `path` is a named pipe itself (not a link to one). */
function isFifo(path: string): boolean {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
}

function badRequest(detail: string): ToolstackError {
  return new ToolstackError('USAGE', `Bad API request: ${detail}`);
}

function dom0Refuses(what: string): ToolstackError {
  return new ToolstackError('NOT_SUPPORTED', `Cannot ${what} Domain-0: it is the host`);
}

/**
 * A create request as the domain layer takes it: `config` is libxl's JSON (`xl -N create`'s), checked
 * against the IDL (unknown fields, wrong types and bad values refused, naming the field), then
 * completed with libxl's defaults.
 */
/** Whether no file system entry is at `path` and its directory can be looked into. */
function nothingAt(path: string): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (e: unknown) {
    if (!isErrno(e, 'ENOENT')) return false;
  }
  try {
    return lstatSync(dirname(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `req.layout`, checked; only with a state stream to restore (`restore`, `incoming`). */
function layoutOf(req: CreateDomainRequest): { readonly layout?: MachineLayout } {
  const given = req.layout as unknown;
  if (given === undefined) return {};
  if (req.restore === undefined && req.incoming === undefined) throw badRequest("'layout' goes with 'restore' or 'incoming' only: a new machine is laid out by its config");
  const wrong = layoutProblem(given);
  if (wrong !== undefined) throw badRequest(`'layout': ${wrong}`);
  const { pci, ramKiB } = given as MachineLayout;
  return { layout: { pci, ramKiB } };
}

/** Where a created domain's machine takes its state from: a save file (`restore`) or a migration socket (`incoming`). */
function incomingOf(req: CreateDomainRequest): Pick<StartOptions, 'incoming'> & { readonly holder?: number } {
  const restore = req.restore as unknown;
  const incoming = req.incoming as unknown;
  if (restore !== undefined) {
    const r = restore as { file?: unknown; offset?: unknown };
    if (!isAbsolutePath(r.file) || typeof r.offset !== 'number' || !Number.isSafeInteger(r.offset) || r.offset < 0) {
      throw badRequest("'restore' must be {file: an absolute path, offset: a byte offset}");
    }
    return { incoming: { saveFile: r.file, offset: r.offset, what: `Restoring from '${r.file}'` } };
  }
  if (incoming !== undefined) {
    const { socket, holder } = incoming as { socket?: unknown; holder?: unknown };
    if (!isAbsolutePath(socket)) throw badRequest("'incoming' must be {socket: an absolute path, holder?: a pid}");
    // QEMU unlinks what is at the path before it listens there.
    if (!nothingAt(socket)) throw badRequest("'incoming.socket' must name a path where nothing is yet, in a directory that exists (QEMU makes the socket there)");
    if (holder !== undefined && (typeof holder !== 'number' || !Number.isSafeInteger(holder) || holder <= 0)) throw badRequest("'incoming.holder' must be a pid");
    return { incoming: { uri: `unix:${socket}`, what: 'Receiving the migration stream', migration: true }, ...(holder === undefined ? {} : { holder }) };
  }
  return {};
}

function newDomainOf(req: CreateDomainRequest | undefined): NewDomain {
  const config = withLibxlDefaults(idlFromJson(DOMAIN_CONFIG, req?.config));
  const noMonitor = req?.noMonitor as unknown;
  const source = req?.source as unknown;
  const sourceText = req?.sourceText as unknown;
  if (noMonitor !== undefined && typeof noMonitor !== 'boolean') throw badRequest("'noMonitor' must be a boolean");
  if (source !== undefined && typeof source !== 'string') throw badRequest("'source' must be a string");
  if (sourceText !== undefined && (typeof sourceText !== 'string' || Buffer.byteLength(sourceText) > MAX_CONFIG_TEXT_BYTES)) {
    throw badRequest(`'sourceText' must be a string of at most ${MAX_CONFIG_TEXT_BYTES >> 20} MiB`);
  }
  return { config, noMonitor: noMonitor === true, ...(source === undefined ? {} : { source }), ...(sourceText === undefined ? {} : { sourceText }) };
}

/** The scope of a xenstore quota request: `global`, or a domid (as the route's parameter, a decimal string). */
function quotaScopeOf(req: XenstoreQuotaScope): number | undefined {
  const scope = req.scope as unknown;
  if (scope === 'global') return undefined;
  const domid = typeof scope === 'number' ? scope : typeof scope === 'string' && /^\d{1,5}$/.test(scope) ? Number(scope) : NaN;
  if (!Number.isInteger(domid) || domid < 0 || domid > 0xffff) throw badRequest("'scope' must be 'global' or a domid");
  return domid;
}

/** A path a request may name: absolute, and without the NUL no file name holds (the file APIs throw on it). */
function isAbsolutePath(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('/') && !v.includes('\0');
}
