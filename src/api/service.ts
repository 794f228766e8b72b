import { ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import type { LibxlJsonObject, LibxlJsonValue } from '../config/index.js';
import { DOM0_NAME, readHostStats, xenFlags } from '../domain/index.js';
import type { DomainLaunch, DomainManager, DomainRecord, NewDomain } from '../domain/index.js';
import type { ToolstackApi } from './toolstack.js';
import type {
  ConsoleAttachment,
  ConsoleAttachRequest,
  CreateDomainRequest,
  DaemonInfo,
  DestroyDomainRequest,
  DomainConfigEntry,
  DomainIdentity,
  DomainInfo,
  DomainRefRequest,
  HostInfo,
  RenameDomainRequest,
  ShutdownDomainRequest,
} from './types.js';

/** Domain-0's uuid in Xen: all zeros. */
const DOM0_UUID = '00000000-0000-0000-0000-000000000000';

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

  constructor(manager: DomainManager, options: {
    readonly paths: Dom0Paths;
    readonly startedAt: number;
    /** The accelerator choice, when the machine layer runs QEMU. */
    readonly accel?: () => Promise<NonNullable<HostInfo['accel']>>;
  }) {
    this.#manager = manager;
    this.#paths = options.paths;
    this.#startedAt = options.startedAt;
    this.#accel = options.accel;
  }

  async daemonInfo(): Promise<DaemonInfo> {
    return { pid: process.pid, startedAt: this.#startedAt, paths: this.#paths, domains: this.#manager.registry.size };
  }

  async hostInfo(): Promise<HostInfo> {
    const h = readHostStats();
    const a = await this.#accel?.().catch(() => undefined);
    return {
      memKiB: h.memKiB, cpus: h.cpus, cpuTimeNs: h.cpuTimeNs, uptimeSec: h.uptimeSec,
      ...(a === undefined ? {} : { accel: { accel: a.accel, source: a.source, reason: a.reason } }),
    };
  }

  async listDomains(): Promise<DomainInfo[]> {
    const now = Date.now();
    const guests = await Promise.all(this.#manager.registry.list().map((r) => this.#info(r, now)));
    return [this.#dom0Info(), ...guests];
  }

  async getDomain(req: DomainRefRequest): Promise<DomainInfo> {
    const ref = refOf(req);
    if (isDom0(ref)) return this.#dom0Info();
    return this.#info(this.#manager.resolve(ref), Date.now());
  }

  async listDomainConfigs(): Promise<DomainConfigEntry[]> {
    return this.#manager.registry.list().map((r) => ({ domid: r.domid, config: r.config }));
  }

  async getDomainConfig(req: DomainRefRequest): Promise<DomainConfigEntry> {
    const ref = refOf(req);
    if (isDom0(ref)) throw new ToolstackError('NOT_SUPPORTED', 'Domain-0 has no stored config: it is the host');
    const r = this.#manager.resolve(ref);
    return { domid: r.domid, config: r.config };
  }

  async createDomain(req: CreateDomainRequest): Promise<DomainInfo> {
    const rec = await this.#manager.create(newDomainOf(req), { paused: req.paused === true });
    return this.#info(rec, Date.now());
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
    const rec = this.#manager.resolve(ref);
    await this.#manager.destroy(rec.domid);
    return { domid: rec.domid, name: rec.name, uuid: rec.uuid };
  }

  shutdownDomain(req: ShutdownDomainRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'shut down', (domid) => this.#manager.shutdown(domid));
  }

  rebootDomain(req: ShutdownDomainRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'reboot', (domid) => this.#manager.reboot(domid));
  }

  pauseDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'pause', (domid) => this.#manager.pause(domid));
  }

  unpauseDomain(req: DomainRefRequest): Promise<DomainInfo> {
    return this.#lifecycle(req, 'unpause', (domid) => this.#manager.unpause(domid));
  }

  async renameDomain(req: RenameDomainRequest): Promise<DomainInfo> {
    const name = req.name as unknown;
    if (typeof name !== 'string') throw badRequest("'name' must be a string");
    return this.#lifecycle(req, 'rename', (domid) => this.#manager.rename(domid, name));
  }

  async attachConsole(req: ConsoleAttachRequest): Promise<ConsoleAttachment> {
    const ref = refOf(req);
    if (isDom0(ref)) throw new ToolstackError('NOT_SUPPORTED', "Can't specify Domain-0", { lines: ["Can't specify Domain-0"] });
    const rec = this.#manager.resolve(ref);
    throw new ToolstackError('NOT_SUPPORTED', `Cannot attach to the console of domain '${rec.name}': consoles are not wired into dom0d yet`);
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
      flags: xenFlags(r.state),
      shutdownReason: r.shutdownReason,
      memKiB: r.memKiB,
      vcpus: r.vcpus,
      cpuTimeNs: await this.#manager.driver.cpuTimeNs(r),
      startTime: r.startTime,
      uptimeSec: r.startTime === null ? null : Math.max(0, (now - r.startTime) / 1000),
    };
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
    };
  }
}

function isDom0(ref: string): boolean {
  return ref === DOM0_NAME || /^0+$/.test(ref);
}

function refOf(req: DomainRefRequest | undefined): string {
  const ref = req?.ref as unknown;
  if (typeof ref !== 'string' || ref === '') throw badRequest("'ref' must be a domain id or name");
  return ref;
}

function badRequest(detail: string): ToolstackError {
  return new ToolstackError('USAGE', `Bad API request: ${detail}`);
}

function dom0Refuses(what: string): ToolstackError {
  return new ToolstackError('NOT_SUPPORTED', `Cannot ${what} Domain-0: it is the host`);
}

/**
 * The registry's view of a config (libxl's `libxl_domain_config` JSON): name and uuid from
 * `c_info`, memory (`target_memkb`, else `max_memkb`) and online vCPUs (`avail_vcpus`, else
 * `max_vcpus`) from `b_info`.
 */
function newDomainOf(req: CreateDomainRequest | undefined): NewDomain {
  const config = req?.config as unknown;
  if (!isObject(config)) throw badRequest("'config' must be a libxl domain config object");
  const cInfo = isObject(config.c_info) ? config.c_info : {};
  const bInfo = isObject(config.b_info) ? config.b_info : {};
  const name = cInfo.name;
  if (typeof name !== 'string') {
    throw new ToolstackError('CFG_VALUE', 'Cannot create a domain without a name', { hint: 'set name="..." in the config' });
  }
  const uuid = typeof cInfo.uuid === 'string' ? cInfo.uuid : undefined;
  const num = (v: LibxlJsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
  const memKiB = num(bInfo.target_memkb) ?? num(bInfo.max_memkb) ?? 0;
  const vcpus = Array.isArray(bInfo.avail_vcpus) ? bInfo.avail_vcpus.length : num(bInfo.max_vcpus) ?? 1;
  const launch = launchOf(req?.launch);
  return { name, config, memKiB, vcpus, ...(uuid === undefined ? {} : { uuid }), ...(launch === undefined ? {} : { launch }) };
}

/** Checks the shape of a create request's `launch` (untrusted JSON). */
function launchOf(v: unknown): DomainLaunch | undefined {
  if (v === undefined) return undefined;
  const l = v as Partial<Record<keyof DomainLaunch, unknown>>;
  const doc = l.doc as Partial<Record<string, unknown>> | undefined;
  if (typeof v !== 'object' || v === null || typeof l.cwd !== 'string' || typeof doc !== 'object' || doc === null ||
    typeof doc.source !== 'string' || !Array.isArray(doc.settings)) {
    throw badRequest("'launch' must be {doc: {source, settings, warnings}, cwd}");
  }
  return v as DomainLaunch;
}

function isObject(v: unknown): v is LibxlJsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
