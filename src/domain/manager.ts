import { mkdir } from 'node:fs/promises';
import { ToolstackError } from '../common/index.js';
import type { DomainDriver } from './driver.js';
import { ProcessOnlyDriver } from './driver.js';
import { DomainEvents } from './events.js';
import { DomainJobQueue } from './jobs.js';
import { policyAction, policyActionName, preservedName } from './policy.js';
import type { DomainRecord, NewDomain } from './record.js';
import { DomainRegistry } from './registry.js';
import { assertActionAllowed, SHUTDOWN_REASONS } from './state.js';
import type { DomainAction, DomainState, ShutdownReason } from './state.js';

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
  /** The monitor's log lines (xl's `xl-<name>.log` equivalents). */
  readonly log?: (line: string) => void;
}

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
  readonly #options: DomainManagerOptions;
  readonly #log: (line: string) => void;
  readonly #restarts = new Set<NodeJS.Timeout>();

  private constructor(registry: DomainRegistry, events: DomainEvents, driver: DomainDriver, options: DomainManagerOptions) {
    this.registry = registry;
    this.events = events;
    this.driver = driver;
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
    driver.setMachineEventSink?.((domid, reason) => this.#onStopped(domid, reason));
  }

  static async open(options: DomainManagerOptions): Promise<DomainManager> {
    const events = options.events ?? new DomainEvents();
    const registry = await DomainRegistry.open(options.domainsDir, {
      events,
      ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
    });
    return new DomainManager(registry, events, options.driver ?? new ProcessOnlyDriver(), options);
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
        await this.#stopped(rec, 'crash', { qemuPid: null });
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
      try {
        const patch = await this.driver.start(rec);
        const started = await this.registry.transition(rec.domid, 'paused', { ...patch, startTime: Date.now() });
        await this.#options.beforeUnpause?.(started);
        if (options.paused === true) return started;
        await this.driver.unpause(started);
        return await this.registry.transition(rec.domid, 'running');
      } catch (e: unknown) {
        const now = this.registry.get(rec.domid);
        if (now !== undefined) await this.#finishDestroy(now);
        throw e;
      }
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
    return this.#job(domid, 'rename', async (old) => {
      const rec = await this.registry.rename(domid, name);
      await this.driver.renamed?.(rec, old);
      return rec;
    });
  }

  /** Cancels restarts waiting for their delay (dom0d stopping). */
  cancelPendingRestarts(): void {
    for (const t of this.#restarts) clearTimeout(t);
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
    const shut = await this.registry.transition(rec.domid, 'shutdown', { shutdownReason: reason, ...patch });
    await this.driver.stopped?.(shut);
    const code = SHUTDOWN_REASONS.indexOf(reason);
    this.#log(`Domain ${shut.domid} has shut down, reason code ${code} 0x${code.toString(16)}`);
    // No monitor for `create -e`, nor for a record without a machine (nothing to restart).
    if (shut.launch === undefined || shut.launch.noMonitor === true) return;
    const action = policyAction(shut.config, reason);
    if (action === undefined) return;
    this.#log(`Action for shutdown reason code ${code} is ${policyActionName(action)}`);
    if (action === 'preserve') return;
    if (action === 'coredump_destroy' || action === 'coredump_restart') await this.#coreDump(shut);
    if (action === 'destroy' || action === 'coredump_destroy') {
      this.#log(`Domain ${shut.domid} needs to be cleaned up: destroying the domain`);
      await this.#finishDestroy(shut);
      return;
    }
    if (action === 'restart_rename') {
      const renamed = await this.registry.rename(shut.domid, preservedName(shut.name, new Date()));
      const kept = await this.registry.update(shut.domid, { uuid: globalThis.crypto.randomUUID() });
      this.#log(`Preserving domain ${kept.domid} ${shut.name} as ${renamed.name}`);
      await this.driver.renamed?.(kept, shut);
    } else {
      await this.#finishDestroy(shut);
    }
    this.#scheduleRestart(shut);
  }

  /** Re-creates `old` (same name, uuid, config; a new domid) after the restart delay. */
  #scheduleRestart(old: DomainRecord): void {
    const init: NewDomain = {
      name: old.name, uuid: old.uuid, config: old.config, memKiB: old.memKiB, vcpus: old.vcpus,
      ...(old.launch === undefined ? {} : { launch: old.launch }),
    };
    const timer = setTimeout(() => {
      this.#restarts.delete(timer);
      this.create(init).then(
        (rec) => this.#log(`Domain ${old.domid} (${old.name}) restarted as domain ${rec.domid}`),
        (e: unknown) => this.#log(`Domain ${old.domid} (${old.name}): restart failed: ${errorText(e)}`),
      );
    }, this.#options.restartDelayMs ?? 2000);
    timer.unref();
    this.#restarts.add(timer);
  }

  /** xl's `dumping core to <dir>/<name>`; failures are logged and ignored, as in xl. */
  async #coreDump(rec: DomainRecord): Promise<void> {
    const dir = this.#options.dumpDir;
    if (dir === undefined || this.driver.coreDump === undefined) return;
    const file = `${dir}/${rec.name}`;
    this.#log(`dumping core to ${file}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await this.driver.coreDump(rec, file);
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

  async #finishDestroy(rec: DomainRecord): Promise<void> {
    if (rec.state !== 'dying') rec = await this.registry.transition(rec.domid, 'dying');
    await this.driver.destroy(rec);
    await this.registry.transition(rec.domid, 'destroyed');
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
