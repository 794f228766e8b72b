import { ToolstackError } from '../common/index.js';
import type { DomainDriver } from './driver.js';
import { ProcessOnlyDriver } from './driver.js';
import { DomainEvents } from './events.js';
import { DomainJobQueue } from './jobs.js';
import type { DomainRecord, NewDomain } from './record.js';
import { DomainRegistry } from './registry.js';
import { assertActionAllowed } from './state.js';
import type { DomainAction } from './state.js';

export interface DomainManagerOptions {
  /** `STATE_DIR/domains`. */
  readonly domainsDir: string;
  /** The machine layer; `ProcessOnlyDriver` until QEMU is wired in. */
  readonly driver?: DomainDriver;
  readonly events?: DomainEvents;
  /** Receives one line per unreadable record found at start-up. */
  readonly warnings?: string[];
}

/** What start-up re-adoption found. */
export interface AdoptReport {
  /** Domains whose machine is still there (or that have none). */
  readonly adopted: number;
  /** Domains whose machine died while dom0d was down: now `shutdown` with reason `crash`. */
  readonly crashed: number;
  /** Half-created or half-destroyed domains, finished off. */
  readonly removed: number;
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

  private constructor(registry: DomainRegistry, events: DomainEvents, driver: DomainDriver) {
    this.registry = registry;
    this.events = events;
    this.driver = driver;
  }

  static async open(options: DomainManagerOptions): Promise<DomainManager> {
    const events = options.events ?? new DomainEvents();
    const registry = await DomainRegistry.open(options.domainsDir, {
      events,
      ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
    });
    return new DomainManager(registry, events, options.driver ?? new ProcessOnlyDriver());
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
   * policy then applies); half-done creates and destroys are finished by destroying.
   */
  async adoptAll(): Promise<AdoptReport> {
    let adopted = 0;
    let crashed = 0;
    let removed = 0;
    await Promise.all(this.registry.list().map((rec) => this.jobs.run(rec.domid, 'adopt', async () => {
      if (rec.state === 'creating' || rec.state === 'dying') {
        await this.#finishDestroy(rec);
        removed++;
        return;
      }
      const alive = await this.driver.adopt(rec);
      if (alive === 'gone' && rec.state !== 'shutdown') {
        await this.registry.transition(rec.domid, 'shutdown', { shutdownReason: 'crash', qemuPid: null });
        crashed++;
      } else {
        adopted++;
      }
    })));
    this.registry.announceAdopted();
    return { adopted, crashed, removed };
  }

  /**
   * Creates a domain: reserves its name and domid, starts its machine paused, then runs it
   * unless `paused`. A failed start leaves nothing behind.
   */
  async create(init: NewDomain, options: { readonly paused?: boolean } = {}): Promise<DomainRecord> {
    const rec = await this.registry.reserve(init);
    return this.jobs.run(rec.domid, 'create', async () => {
      let started: DomainRecord;
      try {
        const patch = await this.driver.start(rec);
        started = await this.registry.transition(rec.domid, 'paused', { ...patch, startTime: Date.now() });
      } catch (e: unknown) {
        await this.#finishDestroy(this.registry.get(rec.domid) ?? rec);
        throw e;
      }
      if (options.paused === true) return started;
      await this.driver.unpause(started);
      return this.registry.transition(rec.domid, 'running');
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

  destroy(domid: number): Promise<void> {
    return this.#job(domid, 'destroy', async (rec) => {
      await this.#finishDestroy(rec);
    });
  }

  pause(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'pause', async (rec) => {
      await this.driver.pause(rec);
      return this.registry.transition(domid, 'paused');
    });
  }

  unpause(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'unpause', async (rec) => {
      await this.driver.unpause(rec);
      return this.registry.transition(domid, 'running');
    });
  }

  shutdown(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'shutdown', async (rec) => {
      await this.driver.shutdown(rec);
      return rec.state === 'shutting-down' ? rec : this.registry.transition(domid, 'shutting-down');
    });
  }

  reboot(domid: number): Promise<DomainRecord> {
    return this.#job(domid, 'reboot', async (rec) => {
      await this.driver.reboot(rec);
      return this.registry.require(domid);
    });
  }

  rename(domid: number, name: string): Promise<DomainRecord> {
    return this.#job(domid, 'rename', () => this.registry.rename(domid, name));
  }

  /** Runs `body` as the domain's job, with the record as it is when the job starts. */
  #job<T>(domid: number, action: DomainAction, body: (rec: DomainRecord) => Promise<T>): Promise<T> {
    return this.jobs.run(domid, action, async () => {
      const rec = this.registry.require(domid);
      assertActionAllowed(action, rec.state, rec.name);
      return body(rec);
    });
  }

  async #finishDestroy(rec: DomainRecord): Promise<void> {
    if (rec.state !== 'dying') rec = await this.registry.transition(rec.domid, 'dying');
    await this.driver.destroy(rec);
    await this.registry.transition(rec.domid, 'destroyed');
  }
}
