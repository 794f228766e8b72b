import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { isErrno, toJson, ToolstackError } from '../common/index.js';
import type { LibxlJsonObject } from '../config/index.js';
import { writeFileAtomic } from './atomic-file.js';
import type { DomainEvents } from './events.js';
import { KeyedQueue } from './keyed-queue.js';
import type { DomainLaunch, DomainRecord, DomainRecordPatch, NewDomain } from './record.js';
import { assertTransition, DOMAIN_STATES, SHUTDOWN_REASONS } from './state.js';
import type { DomainState } from './state.js';

/** The highest domid Xen hands out (DOMID_FIRST_RESERVED - 1); allocation wraps to 1 after it. */
export const MAX_DOMID = 0x7fef;
/** Domain-0 is the host: its name and domid are never given to a guest. */
export const DOM0_NAME = 'Domain-0';
const RECORD_VERSION = 1;
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
  #next = 1;

  private constructor(dir: string, events: DomainEvents | undefined) {
    this.#dir = dir;
    this.#events = events;
  }

  /**
   * Opens (creating if needed) the registry in `dir` and loads every persisted record. Records
   * that cannot be read are skipped and reported in `warnings` (one line each).
   */
  static async open(dir: string, options: { events?: DomainEvents; warnings?: string[] } = {}): Promise<DomainRegistry> {
    const reg = new DomainRegistry(dir, options.events);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let counter = 1;
    try {
      const n = Number.parseInt(await readFile(`${dir}/${COUNTER_FILE}`, 'utf8'), 10);
      if (Number.isInteger(n) && n >= 1 && n <= MAX_DOMID) counter = n;
    } catch (e: unknown) {
      if (!isErrno(e, 'ENOENT')) throw ioError(`read ${dir}/${COUNTER_FILE}`, e);
    }
    for (const file of await readdir(dir)) {
      if (file.endsWith('.tmp')) {
        await unlink(`${dir}/${file}`).catch(() => undefined);
        continue;
      }
      const m = /^(\d+)\.json$/.exec(file);
      if (m === null) continue;
      try {
        const rec = parseRecord(await readFile(`${dir}/${file}`, 'utf8'), Number(m[1]));
        if (reg.#idByName.has(rec.name)) throw new Error(`name '${rec.name}' is used by domain ${reg.#idByName.get(rec.name)}`);
        reg.#insert(rec);
        if (rec.domid >= counter) counter = rec.domid >= MAX_DOMID ? 1 : rec.domid + 1;
      } catch (e: unknown) {
        options.warnings?.push(`skipping domain record ${dir}/${file}: ${e instanceof Error ? e.message : String(e)}`);
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
   * Reserves a name and a fresh domid for a new domain (state `creating`) and persists it.
   * Fails with DOMAIN_EXISTS when the name is taken.
   */
  async reserve(init: NewDomain): Promise<DomainRecord> {
    this.#checkNameFree(init.name);
    const rec: DomainRecord = {
      domid: this.#allocateDomid(),
      name: init.name,
      uuid: init.uuid ?? globalThis.crypto.randomUUID(),
      state: 'creating',
      shutdownReason: null,
      config: init.config,
      memKiB: init.memKiB,
      vcpus: init.vcpus,
      qemuPid: null,
      sockets: {},
      startTime: null,
      createdAt: Date.now(),
      ...(init.launch === undefined ? {} : { launch: init.launch }),
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
      throw ioError(`persist domain '${rec.name}'`, e);
    }
    this.#events?.emit({ type: 'created', record: rec });
    return rec;
  }

  /** Changes the non-identity fields of a domain and persists them. */
  async update(domid: number, patch: DomainRecordPatch): Promise<DomainRecord> {
    const rec = { ...this.require(domid), ...patch };
    this.#byId.set(domid, rec);
    await this.#persist(rec);
    return rec;
  }

  /**
   * Moves a domain to `to` (checked against the transition table) with `patch` applied; leaving
   * `shutdown` clears the shutdown reason. `destroyed` removes the record.
   */
  async transition(domid: number, to: DomainState, patch: DomainRecordPatch = {}): Promise<DomainRecord> {
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
    await this.#persist(rec);
    this.#events?.emit({ type: 'state', record: rec, from: old.state, to });
    return rec;
  }

  /** Renames a domain; DOMAIN_EXISTS when another domain has the name. */
  async rename(domid: number, name: string): Promise<DomainRecord> {
    const old = this.require(domid);
    if (old.name === name) return old;
    this.#checkNameFree(name);
    const rec = { ...old, name };
    this.#idByName.delete(old.name);
    this.#idByName.set(name, domid);
    this.#byId.set(domid, rec);
    await this.#persist(rec);
    this.#events?.emit({ type: 'renamed', record: rec, from: old.name });
    return rec;
  }

  /** Announces the records loaded by `open` (after dom0d has checked them with the driver). */
  announceAdopted(): void {
    for (const record of this.list()) this.#events?.emit({ type: 'adopted', record });
  }

  /** Resolves when every write queued so far is on disk. */
  flush(): Promise<void> {
    return this.#writes.idle();
  }

  #checkNameFree(name: string): void {
    validateDomainName(name);
    if (name === DOM0_NAME || this.#idByName.has(name)) {
      // libxl__domain_rename's own line (for create and rename alike).
      throw new ToolstackError('DOMAIN_EXISTS', `Domain with name '${name}' already exists`, {
        lines: [`Domain with name "${name}" already exists.`],
        hint: 'choose another name, or destroy the existing domain first',
      });
    }
  }

  #allocateDomid(): number {
    for (let i = 0; i < MAX_DOMID; i++) {
      const id = this.#next;
      this.#next = id >= MAX_DOMID ? 1 : id + 1;
      if (!this.#byId.has(id)) return id;
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

  #persist(rec: DomainRecord): Promise<void> {
    const data = `${toJson({ version: RECORD_VERSION, ...rec }, 2)}\n`;
    return this.#writes.run(this.#file(rec.domid), async () => {
      // A record removed while this write waited must not be resurrected.
      if (this.#byId.get(rec.domid) === undefined) return;
      await writeFileAtomic(this.#file(rec.domid), data);
    });
  }
}

/** Names become file names (`qemu-<name>.log`) and xenstore values: no `/`, no control characters. */
export function validateDomainName(name: string): void {
  if (name === '' || name.includes('/') || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ToolstackError('CFG_VALUE', `Invalid domain name '${name}'`, {
      hint: 'a domain name must be non-empty, without "/" or control characters',
    });
  }
}

function ignoreEnoent(e: unknown): void {
  if (!isErrno(e, 'ENOENT')) throw e;
}

function ioError(what: string, cause: unknown): ToolstackError {
  if (cause instanceof ToolstackError) return cause;
  return new ToolstackError('IO', `Cannot ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
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
  if (typeof o.config !== 'object' || o.config === null || Array.isArray(o.config)) throw new Error("'config' is not an object");
  if (typeof o.sockets !== 'object' || o.sockets === null) throw new Error("'sockets' is not an object");
  const rec: DomainRecord = {
    domid,
    name: str('name'),
    uuid: str('uuid'),
    state: state as DomainState,
    shutdownReason: reason as DomainRecord['shutdownReason'],
    config: o.config as LibxlJsonObject,
    memKiB: int('memKiB'),
    vcpus: int('vcpus'),
    qemuPid: int('qemuPid', true),
    sockets: o.sockets as Record<string, string>,
    startTime: int('startTime', true),
    createdAt: int('createdAt'),
    ...(typeof o.launch === 'object' && o.launch !== null ? { launch: o.launch as DomainLaunch } : {}),
  };
  validateDomainName(rec.name);
  return rec;
}
