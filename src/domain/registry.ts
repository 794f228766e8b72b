import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { BugError, isErrno, isToolstackError, MAX_DOMAIN_NAME_BYTES, terminalSafe, toJson, ToolstackError } from '../common/index.js';
import { DOMAIN_CONFIG, domainVcpus, idlFromJson, idlToJson } from '../config/index.js';
import type { DomainConfig } from '../config/index.js';
import { fileError, KeyedQueue, writeFileAtomic } from '../host/index.js';
import type { DomainEvents } from './events.js';
import type { DomainConsole, DomainRecord, DomainRecordPatch, NewDomain, RestartIntent } from './record.js';
import { defaultSched } from './sched.js';
import type { DomainSched } from './sched.js';
import { assertTransition, DOMAIN_STATES, SHUTDOWN_REASONS } from './state.js';
import type { DomainState } from './state.js';

/** The highest domid Xen hands out (DOMID_FIRST_RESERVED - 1); allocation wraps to 1 after it. */
export const MAX_DOMID = 0x7fef;
/** Domain-0 is the host: its name and domid are never given to a guest. */
export const DOM0_NAME = 'Domain-0';
const RECORD_VERSION = 2;
const COUNTER_FILE = 'next-domid';

/**
 * The domains of one host: domids, names, uuids and their persisted records.
 *
 * Contract:
 * - domids are allocated increasing from 1 and are not reused while the persisted counter
 *   (`STATE_DIR/domains/next-domid`) lives; names are unique (and never `Domain-0`).
 * - Reservation, renames and transitions take effect in memory synchronously, before the first
 *   await, so concurrent requests in the one dom0d process are serialised by the event loop:
 *   of N concurrent `reserve` calls for one name exactly one succeeds.
 * - Every change is then written to `<domid>.json` atomically; writes to one file land in order.
 *   The returned promise resolves once the change is on disk, and only then is the event emitted.
 */
export class DomainRegistry {
  readonly #dir: string;
  readonly #events: DomainEvents | undefined;
  readonly #byId = new Map<number, DomainRecord>();
  readonly #idByName = new Map<string, number>();
  readonly #writes = new KeyedQueue<string>();
  readonly #restarts = new Map<string, RestartIntent>();
  /** A domid the host names things after for someone else (see `DomainManagerOptions.domidElsewhere`): not handed out while another is free. */
  #domidElsewhere: (domid: number) => boolean = () => false;
  #next = 1;

  private constructor(dir: string, events: DomainEvents | undefined) {
    this.#dir = dir;
    this.#events = events;
  }

  /**
   * Opens (creating if needed) the registry in `dir` and loads every persisted record. Records
   * that cannot be read are skipped and reported in `warnings` (one line each).
   */
  static async open(dir: string, options: { events?: DomainEvents; warnings?: string[]; domidElsewhere?: (domid: number) => boolean } = {}): Promise<DomainRegistry> {
    const reg = new DomainRegistry(dir, options.events);
    if (options.domidElsewhere !== undefined) reg.#domidElsewhere = options.domidElsewhere;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let counter = 1;
    try {
      const n = Number.parseInt(await readFile(`${dir}/${COUNTER_FILE}`, 'utf8'), 10);
      if (Number.isInteger(n) && n >= 1 && n <= MAX_DOMID) counter = n;
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw fileError('Reading', `${dir}/${COUNTER_FILE}`, e);
    }
    for (const file of await readdir(dir)) {
      if (file.endsWith('.tmp')) {
        await unlink(`${dir}/${file}`).catch(() => undefined);
        continue;
      }
      const r = /^restart-(.+)\.json$/.exec(file);
      if (r !== null) {
        try {
          const intent = parseRestart(await readFile(`${dir}/${file}`, 'utf8'));
          reg.#restarts.set(intent.init.config.c_info?.uuid ?? r[1] as string, intent);
        } catch (e: unknown) {
          options.warnings?.push(`skipping restart intent ${dir}/${file}: ${e instanceof Error ? e.message : String(e)}`);
        }
        continue;
      }
      const m = /^(\d+)\.json$/.exec(file);
      if (m === null) continue;
      const domid = Number(m[1]);
      if (domid >= counter) counter = domid >= MAX_DOMID ? 1 : domid + 1;
      // A record the host cannot read now (EIO, EMFILE) is no corrupt one: dom0d does not start
      // without it (a QEMU of it found running would be recorded again over it).
      let text: string;
      try {
        text = await readFile(`${dir}/${file}`, 'utf8');
      } catch (e: unknown) {
        if (isErrno(e, 'ENOENT')) continue;
        if (!isErrno(e, 'EISDIR')) throw fileError('Reading', `${dir}/${file}`, e);
        text = '';
      }
      try {
        const rec = parseRecord(text, domid);
        if (reg.#idByName.has(rec.name)) throw new Error(`name '${rec.name}' is used by domain ${reg.#idByName.get(rec.name)}`);
        reg.#insert(rec);
      } catch (e: unknown) {
        // Kept aside, never deleted: what it held may still be needed; its machine is looked for.
        const aside = `${dir}/${file}.corrupt-${Date.now()}`;
        await rename(`${dir}/${file}`, aside).catch(() => undefined);
        options.warnings?.push(`domain record ${dir}/${file} is unreadable (${e instanceof Error ? e.message : String(e)}): kept as ${aside}`);
      }
    }
    reg.#next = counter;
    return reg;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Every domain, in domid order. */
  list(): DomainRecord[] {
    return [...this.#byId.values()].sort((a, b) => a.domid - b.domid);
  }

  get(domid: number): DomainRecord | undefined {
    return this.#byId.get(domid);
  }

  byName(name: string): DomainRecord | undefined {
    const id = this.#idByName.get(name);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  /** Like `get`, but a missing domain is a DOMAIN_NOT_FOUND error. */
  require(domid: number): DomainRecord {
    const rec = this.#byId.get(domid);
    if (rec === undefined) throw new ToolstackError('DOMAIN_NOT_FOUND', `Domain ${domid} does not exist`);
    return rec;
  }

  /**
   * Reserves a name and a domid for a new domain (state `creating`) and persists it: a fresh
   * domid, or the config's `c_info.domid` when it names one (libxl's way; `xl save -D` and `xl
   * migrate -D` put it there), which must be free. The stored config does not keep it, so the
   * domain's restarts get fresh domids. Fails with DOMAIN_EXISTS when the name, domid or uuid is
   * taken, or promised to a pending restart other than the one this is (`restart`). An incoming
   * migration (`sender` given) shares its uuid with its sender when that runs here: with a domain
   * `sender` accepts (one migrating out), no other.
   */
  async reserve(init: NewDomain, options: { readonly sender?: (holder: DomainRecord) => boolean; readonly restart?: boolean } = {}): Promise<DomainRecord> {
    const name = init.config.c_info?.name;
    if (name === undefined) throw new ToolstackError('CFG_VALUE', 'Cannot create a domain without a name', { hint: 'set name="..." in the config' });
    const restartOf = options.restart === true ? init.config.c_info?.uuid : undefined;
    // Cancelled (`xl destroy` of its name) after its timer fired, before this create got here.
    if (options.restart === true && (restartOf === undefined || !this.#restarts.has(restartOf))) {
      throw new ToolstackError('DOMAIN_STATE', `The restart of domain '${name}' was cancelled`, { hint: 'an xl destroy of it ran meanwhile' });
    }
    this.#checkNameFree(name, restartOf);
    const uuid = init.config.c_info?.uuid ?? globalThis.crypto.randomUUID();
    this.#checkUuidFree(uuid, options.sender, restartOf);
    const wanted = init.config.c_info?.domid ?? 0;
    const rec: DomainRecord = {
      domid: wanted > 0 ? this.#checkDomidFree(wanted, name) : this.#allocateDomid(),
      name,
      uuid,
      state: 'creating',
      shutdownReason: null,
      config: withIdentity(withoutDomid(init.config), name, uuid),
      noMonitor: init.noMonitor === true,
      source: init.source ?? name,
      ...(init.sourceText === undefined ? {} : { sourceText: init.sourceText }),
      qemuPid: null,
      qmpSocket: null,
      vnc: null,
      consoles: [],
      startTime: null,
      createdAt: Date.now(),
      sched: init.sched ?? defaultSched(0, domainVcpus(init.config).max),
      ...(options.sender !== undefined ? { arriving: true as const } : {}),
    };
    this.#insert(rec);
    const next = this.#next;
    try {
      await Promise.all([
        this.#persist(rec),
        this.#writes.run(COUNTER_FILE, () => writeFileAtomic(`${this.#dir}/${COUNTER_FILE}`, `${next}\n`)),
      ]);
    } catch (e: unknown) {
      this.#delete(rec);
      throw e;
    }
    this.#events?.emit({ type: 'created', record: rec });
    return rec;
  }

  /**
   * Records a domain found running without a record (its record was lost): at its own domid,
   * which must be free, under a free name. Persisted like any other.
   */
  async recover(rec: DomainRecord): Promise<DomainRecord> {
    if (this.#byId.has(rec.domid)) throw new BugError(`recovering domain ${rec.domid}, which has a record`);
    this.#checkNameFree(rec.name);
    const full = { ...rec, config: withIdentity(rec.config, rec.name, rec.uuid) };
    this.#insert(full);
    try {
      await this.#persist(full);
    } catch (e: unknown) {
      this.#delete(full);
      throw e;
    }
    if (full.domid >= this.#next) this.#next = full.domid >= MAX_DOMID ? 1 : full.domid + 1;
    return full;
  }

  /** True when `name` may be given to a domain now. */
  nameFree(name: string): boolean {
    try {
      this.#checkNameFree(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Changes the non-identity fields of a domain and persists them. */
  async update(domid: number, patch: DomainRecordPatch): Promise<DomainRecord> {
    const old = this.require(domid);
    const next = { ...old, ...patch };
    const rec = { ...next, config: withIdentity(next.config, next.name, next.uuid) };
    this.#byId.set(domid, rec);
    await this.#persistOrUndo(rec, old);
    return rec;
  }

  /**
   * Saves (`target`) or drops (undefined) the config an attach in progress leads to
   * (`DomainRecord.attaching`), with `config` as the domain's config when given.
   */
  async attaching(domid: number, target: DomainConfig | undefined, config?: DomainConfig): Promise<DomainRecord> {
    const old = this.require(domid);
    const { attaching: _, ...kept } = old;
    const rec: DomainRecord = {
      ...kept,
      ...(config === undefined ? {} : { config: withIdentity(config, old.name, old.uuid) }),
      ...(target === undefined ? {} : { attaching: target }),
    };
    this.#byId.set(domid, rec);
    await this.#persistOrUndo(rec, old);
    return rec;
  }

  /**
   * Moves a domain to `to` (checked against the transition table) with `patch` applied; leaving
   * `shutdown` clears the shutdown reason. `destroyed` removes the record. With `bestEffort`, a
   * record the disk refuses (full, read-only, no file descriptor left) does not undo the change:
   * it stays in memory (and is logged by the caller).
   */
  async transition(domid: number, to: DomainState, patch: DomainRecordPatch = {}, options: { readonly bestEffort?: boolean } = {}): Promise<DomainRecord> {
    const old = this.require(domid);
    assertTransition(old.state, to, old.name);
    const rec: DomainRecord = { ...old, shutdownReason: to === 'shutdown' ? old.shutdownReason : null, ...patch, state: to };
    if (to === 'destroyed') {
      this.#delete(old);
      await this.#writes.run(this.#file(domid), () => unlink(this.#file(domid)).catch(ignoreEnoent));
      this.#events?.emit({ type: 'state', record: rec, from: old.state, to });
      this.#events?.emit({ type: 'destroyed', record: rec });
      return rec;
    }
    this.#byId.set(domid, rec);
    try {
      await this.#persistOrUndo(rec, old);
    } catch (e: unknown) {
      if (options.bestEffort !== true || !(isToolstackError(e, 'NO_SPACE') || isToolstackError(e, 'IO'))) throw e;
      this.#byId.set(domid, rec);
    }
    this.#events?.emit({ type: 'state', record: rec, from: old.state, to });
    return rec;
  }

  /** Renames a domain; DOMAIN_EXISTS when another domain has the name. */
  async rename(domid: number, name: string): Promise<DomainRecord> {
    const old = this.require(domid);
    if (old.name === name) return old;
    this.#checkNameFree(name);
    // Its receiving xl renaming an arriving domain takes it over (see DomainRecord.arriving).
    const { arriving: _, ...kept } = old;
    const rec = { ...kept, name, config: withIdentity(old.config, name, old.uuid) };
    // The old name stays taken until the new one is on disk: a failed write puts it back, and a
    // create of it meanwhile would have lost it then.
    this.#idByName.set(name, domid);
    this.#byId.set(domid, rec);
    await this.#persistOrUndo(rec, old);
    if (this.#idByName.get(old.name) === domid) this.#idByName.delete(old.name);
    this.#events?.emit({ type: 'renamed', record: rec, from: old.name });
    return rec;
  }

  /** Persists a restart before the domain it replaces is destroyed (see `RestartIntent`). */
  async saveRestart(intent: RestartIntent): Promise<void> {
    const uuid = intent.init.config.c_info?.uuid;
    if (uuid === undefined) throw new BugError('a restart intent names the uuid of the domain it re-creates');
    this.#restarts.set(uuid, intent);
    const data = `${toJson({ ...intent, init: { ...intent.init, config: idlToJson(DOMAIN_CONFIG, intent.init.config) } })}\n`;
    await this.#writes.run(this.#restartFile(uuid), () => writeFileAtomic(this.#restartFile(uuid), data));
  }

  /** The restart of `uuid` is done (or abandoned). */
  async dropRestart(uuid: string): Promise<void> {
    this.#restarts.delete(uuid);
    await this.#writes.run(this.#restartFile(uuid), () => unlink(this.#restartFile(uuid)).catch(ignoreEnoent));
  }

  /** The pending restart that will give a domain `name`, if any. */
  restartNamed(name: string): RestartIntent | undefined {
    return [...this.#restarts.values()].find((i) => i.init.config.c_info?.name === name);
  }

  /** Restarts persisted and not yet done. */
  restarts(): RestartIntent[] {
    return [...this.#restarts.values()];
  }

  /** Announces the records loaded by `open` (after dom0d has checked them with the driver). */
  announceAdopted(): void {
    for (const record of this.list()) this.#events?.emit({ type: 'adopted', record });
  }

  /** Resolves when every write queued so far is on disk. */
  flush(): Promise<void> {
    return this.#writes.idle();
  }

  /**
   * A name is taken by a domain, and by a pending restart (between the old domain's end and the
   * new one's create): otherwise a create in that window took the name and the restart made a
   * second domain of it (or failed and lost the domain). `restartOf`: the uuid of the restart
   * this create is.
   */
  #checkNameFree(name: string, restartOf?: string): void {
    // A restart keeps its domain's name, which rules made since may refuse (all digits).
    if (restartOf === undefined) validateDomainName(name);
    const restart = this.restartNamed(name);
    const restarting = restart !== undefined && restart.init.config.c_info?.uuid !== restartOf;
    if (name === DOM0_NAME || this.#idByName.has(name) || restarting) {
      // libxl__domain_rename's own line (for create and rename alike).
      throw new ToolstackError('DOMAIN_EXISTS', `Domain with name '${name}' already exists${restarting ? ' (it is restarting)' : ''}`, {
        lines: [`Domain with name "${name}" already exists.`],
        hint: restarting ? `domain ${restart.from} ('${name}') is being restarted as its on_* policy says: \`xl destroy ${name}\` cancels that`
          : 'choose another name, or destroy the existing domain first',
      });
    }
  }

  /** A uuid names one domain, but for the two ends of a migration within this host. */
  #checkUuidFree(uuid: string, sender?: (holder: DomainRecord) => boolean, restartOf?: string): void {
    const holder = [...this.#byId.values()].find((r) => r.uuid === uuid);
    const restart = uuid === restartOf ? undefined : this.#restarts.get(uuid);
    if ((holder !== undefined && sender?.(holder) !== true) || restart !== undefined) {
      const who = holder ?? { name: restart?.init.config.c_info?.name ?? '', domid: restart?.from ?? 0 };
      throw new ToolstackError('DOMAIN_EXISTS', `Domain with uuid ${uuid} already exists (${who.name}, ${who.domid}${holder === undefined ? ', restarting' : ''})`, {
        hint: 'give the new domain another uuid= (or none: one is generated)',
      });
    }
  }

  /** `domid` when a new domain may have it (a guest's, not in use); `name` is the new domain's. */
  #checkDomidFree(domid: number, name: string): number {
    if (!Number.isInteger(domid) || domid > MAX_DOMID) {
      throw new ToolstackError('CFG_VALUE', `Cannot create domain '${name}' with domid ${domid}: a guest's domid is 1 to ${MAX_DOMID}`);
    }
    const holder = this.#byId.get(domid);
    if (holder !== undefined) {
      throw new ToolstackError('DOMAIN_EXISTS', `Cannot create domain '${name}' with domid ${domid}: domain '${holder.name}' has it`, {
        hint: 'without -D (xl save/migrate) the domain gets a new domid; or destroy that domain first',
      });
    }
    return domid;
  }

  #allocateDomid(): number {
    for (const skipElsewhere of [true, false]) {
      for (let i = 0; i < MAX_DOMID; i++) {
        const id = this.#next;
        this.#next = id >= MAX_DOMID ? 1 : id + 1;
        if (!this.#byId.has(id) && !(skipElsewhere && this.#domidElsewhere(id))) return id;
      }
    }
    throw new ToolstackError('DOMAIN_EXISTS', `Cannot allocate a domain id: all ${MAX_DOMID} are in use`);
  }

  #insert(rec: DomainRecord): void {
    this.#byId.set(rec.domid, rec);
    this.#idByName.set(rec.name, rec.domid);
  }

  #delete(rec: DomainRecord): void {
    this.#byId.delete(rec.domid);
    if (this.#idByName.get(rec.name) === rec.domid) this.#idByName.delete(rec.name);
  }

  #file(domid: number): string {
    return `${this.#dir}/${domid}.json`;
  }

  #restartFile(uuid: string): string {
    return `${this.#dir}/restart-${uuid}.json`;
  }

  /**
   * Persists `rec`; when that fails (a full disk), puts `old` back in memory (unless a later
   * change has replaced `rec` meanwhile) and rethrows, so memory never claims what the disk lacks.
   */
  async #persistOrUndo(rec: DomainRecord, old: DomainRecord): Promise<void> {
    try {
      await this.#persist(rec);
    } catch (e: unknown) {
      if (this.#byId.get(rec.domid) === rec) {
        if (this.#idByName.get(rec.name) === rec.domid && rec.name !== old.name) this.#idByName.delete(rec.name);
        this.#insert(old);
      }
      throw e;
    }
  }

  #persist(rec: DomainRecord): Promise<void> {
    const data = `${toJson({
      version: RECORD_VERSION, ...rec, config: idlToJson(DOMAIN_CONFIG, rec.config),
      ...(rec.updatedConfig === undefined ? {} : { updatedConfig: idlToJson(DOMAIN_CONFIG, rec.updatedConfig) }),
      ...(rec.attaching === undefined ? {} : { attaching: idlToJson(DOMAIN_CONFIG, rec.attaching) }),
      ...(rec.lingering === undefined ? {} : { lingering: idlToJson(DOMAIN_CONFIG, rec.lingering) }),
    })}\n`;
    return this.#writes.run(this.#file(rec.domid), async () => {
      // A record removed while this write waited must not be resurrected.
      if (this.#byId.get(rec.domid) === undefined) return;
      await writeFileAtomic(this.#file(rec.domid), data);
    });
  }
}

/** The longest domain name, in UTF-8 bytes (see MAX_DOMAIN_NAME_BYTES). */
export const MAX_NAME_BYTES = MAX_DOMAIN_NAME_BYTES;

/**
 * Xen's rules for a domain name (any text but `/`, control characters and the empty string),
 * plus what the file system needs: not `.` or `..`, at most MAX_NAME_BYTES bytes; and, for a new
 * name, rules an older dom0 did not have: not all digits (Xen takes one, but then every xl command
 * reads it as a domain id: `xl destroy 5` would reach domain 5, not the domain named "5"), and no
 * C1 control, text-direction or invisible character (a terminal takes U+009B for CSI: a name could erase the
 * `xl list` row above it; U+202E reverses the columns after it). Checked once, for create, rename
 * and rename-restart alike; `stored` (a record an older dom0 wrote) is held to the first rules
 * only, so that an upgrade does not set aside a running domain's record.
 */
export function validateDomainName(name: string, stored = false): void {
  const why = name === '' ? 'it is empty'
    : name.includes('/') ? 'it contains "/"'
      : /[\u0000-\u001f\u007f]/.test(name) ? 'it contains a control character'
        : /\p{Cs}/u.test(name) ? 'it is not valid Unicode (a lone surrogate): as a file name it would be another name\'s'
        : name === '.' || name === '..' ? 'it is a directory name'
          : Buffer.byteLength(name) > MAX_NAME_BYTES ? `it is ${Buffer.byteLength(name)} bytes long`
            : stored ? undefined
              : /^[0-9]+$/.test(name) ? 'it is all digits, which xl reads as a domain id'
                : terminalSafe(name) !== name ? 'it contains a control, text-direction or invisible character' : undefined;
  if (why !== undefined) {
    const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
    throw new ToolstackError('CFG_VALUE', `Invalid domain name '${shown}': ${why}`, {
      hint: `a domain name is 1 to ${MAX_NAME_BYTES} bytes, without "/", control, text-direction or invisible characters, not "." or "..", and not all digits`,
    });
  }
}

function ignoreEnoent(e: unknown): void {
  if (!isErrno(e, 'ENOENT')) throw e;
}

function isConsole(v: unknown): v is DomainConsole {
  const c = v as Partial<Record<keyof DomainConsole, unknown>> | null;
  return typeof c === 'object' && c !== null && typeof c.id === 'string' && typeof c.socket === 'string' && typeof c.feed === 'string' && typeof c.tty === 'string' &&
    (c.kind === 'pv' || c.kind === 'serial' || c.kind === 'channel' || c.kind === 'debug') && Number.isInteger(c.index) && (c.name === undefined || typeof c.name === 'string');
}

function parseRestart(text: string): RestartIntent {
  const o = JSON.parse(text) as Partial<Record<keyof RestartIntent, unknown>> | null;
  const init = o?.init as Partial<Record<keyof NewDomain, unknown>> | undefined;
  if (typeof o?.at !== 'number' || typeof o.from !== 'number' || typeof o.keepOld !== 'boolean' || typeof init !== 'object' || init === null) {
    throw new Error('not a restart intent');
  }
  const config = idlFromJson(DOMAIN_CONFIG, init.config);
  if (config.c_info?.name === undefined || config.c_info.uuid === undefined) throw new Error('the config names no domain');
  return {
    at: o.at, from: o.from, keepOld: o.keepOld,
    init: {
      config, noMonitor: init.noMonitor === true, ...(typeof init.source === 'string' ? { source: init.source } : {}),
      ...(typeof init.sourceText === 'string' ? { sourceText: init.sourceText } : {}),
      ...(init.sched === undefined ? {} : { sched: parseSched(init.sched) }),
    },
  };
}

/**
 * `config` naming the domain `name`/`uuid` (the record's identity is the one authority), in the
 * form its JSON reads back as (so a record reloaded from disk equals the one in memory).
 */
/** `config` without `c_info.domid`. */
function withoutDomid(config: DomainConfig): DomainConfig {
  if (config.c_info?.domid === undefined) return config;
  const { domid: _domid, ...cInfo } = config.c_info;
  return { ...config, c_info: cInfo };
}

function withIdentity(config: DomainConfig, name: string, uuid: string): DomainConfig {
  return idlFromJson(DOMAIN_CONFIG, idlToJson(DOMAIN_CONFIG, { ...config, c_info: { ...config.c_info, name, uuid } }));
}

function parseRecord(text: string, domid: number): DomainRecord {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null) throw new Error('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.version !== RECORD_VERSION) throw new Error(`unsupported record version ${String(o.version)}`);
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string') throw new Error(`'${k}' is not a string`);
    return v;
  };
  const int = (k: string, nullable = false): number => {
    const v = o[k];
    if (nullable && v === null) return v as unknown as number;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`'${k}' is not an integer`);
    return v;
  };
  if (o.domid !== domid) throw new Error(`domid ${String(o.domid)} does not match the file name`);
  const state = str('state');
  if (!(DOMAIN_STATES as readonly string[]).includes(state) || state === 'destroyed') throw new Error(`bad state '${state}'`);
  const reason = o.shutdownReason;
  if (reason !== null && !(SHUTDOWN_REASONS as readonly unknown[]).includes(reason)) throw new Error('bad shutdownReason');
  const config = idlFromJson(DOMAIN_CONFIG, o.config);
  const qmpSocket = o.qmpSocket;
  if (qmpSocket !== null && typeof qmpSocket !== 'string') throw new Error("'qmpSocket' is not a string");
  const vnc = o.vnc as DomainRecord['vnc'];
  if (vnc !== null && (typeof vnc !== 'object' || typeof vnc.host !== 'string' || !Number.isInteger(vnc.port))) throw new Error("'vnc' is not {host, port}");
  if (!Array.isArray(o.consoles) || !o.consoles.every(isConsole)) throw new Error("'consoles' is not a list of consoles");
  const rec: DomainRecord = {
    domid,
    name: str('name'),
    uuid: str('uuid'),
    state: state as DomainState,
    shutdownReason: reason as DomainRecord['shutdownReason'],
    config: withIdentity(config, str('name'), str('uuid')),
    noMonitor: o.noMonitor === true,
    source: str('source'),
    ...(typeof o.sourceText === 'string' ? { sourceText: o.sourceText } : {}),
    qemuPid: int('qemuPid', true),
    qmpSocket,
    vnc,
    consoles: o.consoles,
    startTime: int('startTime', true),
    createdAt: int('createdAt'),
    sched: o.sched === undefined ? defaultSched(config.c_info?.poolid ?? 0, domainVcpus(config).max) : parseSched(o.sched),
    ...(o.updatedConfig === undefined ? {} : { updatedConfig: idlFromJson(DOMAIN_CONFIG, o.updatedConfig) }),
    ...(o.arriving === true ? { arriving: true as const } : {}),
    ...(o.attaching === undefined ? {} : { attaching: idlFromJson(DOMAIN_CONFIG, o.attaching) }),
    ...(o.lingering === undefined ? {} : { lingering: idlFromJson(DOMAIN_CONFIG, o.lingering) }),
  };
  validateDomainName(rec.name, true);
  return rec;
}

function parseSched(v: unknown): DomainSched {
  const s = v as Partial<Record<keyof DomainSched, unknown>> | null;
  const int = (x: unknown): boolean => Number.isInteger(x);
  if (typeof s !== 'object' || s === null || !int(s.pool) || !int(s.weight) || !int(s.cap) || !Array.isArray(s.vcpus)
    || !s.vcpus.every((r: { period?: unknown; budget?: unknown; extratime?: unknown } | null) => int(r?.period) && int(r?.budget) && typeof r?.extratime === 'boolean')) {
    throw new Error("'sched' is not {pool, weight, cap, vcpus}");
  }
  return s as DomainSched;
}
