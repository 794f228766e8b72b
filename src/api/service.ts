import { ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import type { LibxlJsonObject, LibxlJsonValue } from '../config/index.js';
import type { Duplex } from 'node:stream';
import { consoleIdFor, consoleIds, consoleKindOf, primaryConsole } from '../console/index.js';
import type { ConsoleHub } from '../console/index.js';
import { assertActionAllowed, DOM0_NAME, readHostStats, xenFlags } from '../domain/index.js';
import type { DomainAction, DomainLaunch, DomainManager, DomainRecord, NewDomain, XenStateFlags } from '../domain/index.js';
import { STREAM_ROUTES } from './routes.js';
import type { ToolstackApi } from './toolstack.js';
import type {
  ConsoleAttachment,
  ConsoleAttachRequest,
  ConsoleType,
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
  SysrqRequest,
  SysrqResult,
  TriggerName,
  TriggerRequest,
  TriggerResult,
  VncInfo,
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
  readonly #consoles: ConsoleHub | undefined;
  readonly #xenstore: { write(path: string, value: string): Promise<void> } | undefined;

  constructor(manager: DomainManager, options: {
    readonly paths: Dom0Paths;
    readonly startedAt: number;
    /** The accelerator choice, when the machine layer runs QEMU. */
    readonly accel?: () => Promise<NonNullable<HostInfo['accel']>>;
    /** The domains' consoles (`attachConsole` streams). */
    readonly consoles?: ConsoleHub;
    /** Writes a xenstore node as dom0 (`sendSysrq`'s `control/sysrq`). */
    readonly xenstore?: { write(path: string, value: string): Promise<void> };
  }) {
    this.#manager = manager;
    this.#paths = options.paths;
    this.#startedAt = options.startedAt;
    this.#accel = options.accel;
    this.#consoles = options.consoles;
    this.#xenstore = options.xenstore;
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
    const type = req.type as unknown;
    const num = req.num as unknown;
    if (type !== undefined && type !== 'pv' && type !== 'serial' && type !== 'vuart') throw badRequest("'type' must be pv, serial or vuart");
    if (num !== undefined && !(typeof num === 'number' && Number.isInteger(num) && num >= 0)) throw badRequest("'num' must be a console number");
    const want: { kind: ConsoleType; num: number } = type === undefined ? primaryConsole(rec.config) : { kind: type, num: num ?? 0 };
    const id = consoleIdFor(rec, want.kind, want.num);
    if (id === undefined) {
      const have = consoleIds(rec).map((c) => `${consoleKindOf(c).kind} ${consoleKindOf(c).num}`);
      throw new ToolstackError('NOT_SUPPORTED', `Domain '${rec.name}' has no ${want.kind} console ${want.num}`, {
        lines: ['Unable to attach console'],
        hint: want.kind === 'vuart' ? 'vuart consoles exist on Arm only; use -t pv or -t serial'
          : have.length === 0 ? `domain '${rec.name}' has no console` : `domain '${rec.name}' has: ${have.join(', ')} (xl console -t TYPE -n NUM)`,
      });
    }
    const kind = consoleKindOf(id);
    return {
      domid: rec.domid, name: rec.name, type: kind.kind, num: kind.num, id,
      stream: `${STREAM_ROUTES.consoleStream.path.replace(':ref', String(rec.domid))}?id=${id}`,
    };
  }

  /**
   * Serves the console a `consoleStream` request names on `client` (see `ConsoleAttachment`);
   * `ready` is called (to send the `101`) once the console is known to be connected, before its
   * first byte.
   */
  async streamConsole(req: { readonly ref: string; readonly id: string }, client: Duplex, ready: () => void): Promise<void> {
    const rec = this.#manager.resolve(refOf(req));
    if (this.#consoles === undefined) throw new ToolstackError('NOT_SUPPORTED', 'This dom0d serves no consoles');
    await this.#consoles.stream(rec.domid, req.id, client, ready);
  }

  async sendTrigger(req: TriggerRequest): Promise<TriggerResult> {
    const trigger = req.trigger as unknown;
    if (typeof trigger !== 'string' || !(trigger in TRIGGERS)) {
      throw new ToolstackError('USAGE', `Invalid trigger "${String(trigger)}"`, { lines: [`Invalid trigger "${String(trigger)}"`] });
    }
    const name = trigger as TriggerName;
    const vcpu = req.vcpu ?? 0;
    return this.#monitorJob(req, 'trigger', async (rec, monitor) => {
      if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= rec.vcpus) {
        throw new ToolstackError('USAGE', `Cannot send trigger ${name} to vcpu ${vcpu} of domain '${rec.name}': it has ${rec.vcpus} vcpu(s)`);
      }
      const steps = TRIGGERS[name];
      if (steps === null) {
        throw new ToolstackError('NOT_SUPPORTED', `Cannot send trigger "${name}" to domain '${rec.name}': QEMU has no way to deliver it`, {
          hint: 'triggers QEMU can deliver: nmi, reset, power, s3resume',
        });
      }
      for (const [command, args] of steps) await monitor(command, args);
      return { domid: rec.domid, name: rec.name, trigger: name, vcpu, qmp: steps.map(([c]) => c).join(' ') };
    });
  }

  async sendSysrq(req: SysrqRequest): Promise<SysrqResult> {
    const key = req.key as unknown;
    if (typeof key !== 'string' || [...key].length !== 1) {
      throw new ToolstackError('USAGE', 'Invalid sysrq.', { lines: ['Invalid sysrq.', ''] });
    }
    const qcode = SYSRQ_QCODE.test(key) ? key.toLowerCase() : undefined;
    return this.#monitorJob(req, 'sysrq', async (rec, monitor) => {
      if (qcode === undefined) {
        throw new ToolstackError('NOT_SUPPORTED', `Cannot send sysrq '${key}' to domain '${rec.name}': only letters and digits have a key`, {
          hint: 'the kernel\'s sysrq commands are letters and digits (xl sysrq DOMAIN h lists them)',
        });
      }
      const xenstorePath = `/local/domain/${rec.domid}/control/sysrq`;
      await this.#xenstore?.write(xenstorePath, key);
      const keys = ['alt', 'sysrq', qcode];
      await monitor('send-key', { keys: keys.map((k) => ({ type: 'qcode', data: k })) });
      return { domid: rec.domid, name: rec.name, key, xenstorePath, keys };
    });
  }

  async getVnc(req: DomainRefRequest): Promise<VncInfo> {
    return this.#monitorJob(req, 'console', async (rec, monitor) => {
      const vnc = (await monitor('query-vnc')) as { enabled?: boolean; host?: string; service?: string } | undefined;
      const port = Number(vnc?.service);
      if (vnc?.enabled !== true || !Number.isInteger(port)) {
        throw new ToolstackError('NOT_SUPPORTED', `Domain '${rec.name}' has no VNC display`, {
          lines: ['Cannot get vnc-port'],
          hint: rec.config.c_info !== undefined && isObject(rec.config.c_info) && rec.config.c_info.type === 'hvm'
            ? 'its config disables VNC (vnc=0 or nographic=1)' : 'give it one: vfb = [ "vnc=1" ]',
        });
      }
      return { domid: rec.domid, name: rec.name, host: vnc.host ?? '127.0.0.1', port, display: port - 5900, password: vncPasswordOf(rec.config) };
    });
  }

  /** Runs `body` as the domain's `action` job with its QEMU monitor; Domain-0 and no monitor refuse. */
  async #monitorJob<T>(
    req: DomainRefRequest,
    action: DomainAction,
    body: (rec: DomainRecord, monitor: (command: string, args?: Record<string, unknown>) => Promise<unknown>) => Promise<T>,
  ): Promise<T> {
    const ref = refOf(req);
    if (isDom0(ref)) throw dom0Refuses(action === 'console' ? 'use the VNC display of' : `send ${action} to`);
    const domid = this.#manager.resolve(ref).domid;
    const driver = this.#manager.driver;
    return this.#manager.jobs.run(domid, action, async () => {
      const rec = this.#manager.registry.require(domid);
      assertActionAllowed(action, rec.state, rec.name);
      if (driver.monitor === undefined) throw new ToolstackError('NOT_SUPPORTED', `Domain '${rec.name}' has no QEMU monitor here`);
      return body(rec, (command, args) => (driver.monitor as NonNullable<typeof driver.monitor>)(rec, command, args));
    });
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
      memKiB: r.memKiB,
      vcpus: r.vcpus,
      cpuTimeNs: await this.#manager.driver.cpuTimeNs(r),
      startTime: r.startTime,
      uptimeSec: r.startTime === null ? null : Math.max(0, (now - r.startTime) / 1000),
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
    };
  }
}

/**
 * Xen's triggers as QMP commands; null: QEMU cannot deliver it (no INIT IPI, no sleep button).
 * `reset` resets the machine; as the domain's QEMU turns every reset into a stop for dom0 (the
 * firmware itself resets again at once), it ends as a reboot and `on_reboot` applies. `nmi`
 * reaches every vCPU (QEMU's pc delivers it to all).
 */
const TRIGGERS: Readonly<Record<TriggerName, readonly (readonly [string, Record<string, unknown>?])[] | null>> = {
  nmi: [['inject-nmi']],
  reset: [['system_reset']],
  init: null,
  power: [['system_powerdown']],
  sleep: null,
  s3resume: [['system_wakeup']],
};

/** Keys `send-key` has a qcode for that name a sysrq command. */
const SYSRQ_QCODE = /^[a-zA-Z0-9]$/;

/** `vncpasswd` of the config (HVM: `b_info.type.hvm.vnc`; PV: the first vfb's `vnc`); null if none. */
function vncPasswordOf(config: LibxlJsonObject): string | null {
  const bInfo = isObject(config.b_info) ? config.b_info : {};
  const hvm = isObject(bInfo['type.hvm']) ? bInfo['type.hvm'] : {};
  const vfb = Array.isArray(config.vfbs) && isObject(config.vfbs[0]) ? config.vfbs[0] : {};
  for (const holder of [hvm, vfb]) {
    const vnc = holder.vnc;
    if (isObject(vnc) && typeof vnc.passwd === 'string' && vnc.passwd !== '') return vnc.passwd;
  }
  return null;
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
