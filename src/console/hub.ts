import type { Duplex } from 'node:stream';
import { ToolstackError } from '../common/index.js';
import type { DomainEvent, DomainEvents, DomainRecord } from '../domain/index.js';
import { KeyedQueue } from '../domain/index.js';
import { ConsoleLog } from './console-log.js';
import { consoleEndpoint, consoleIds, consoleIdFor, primaryConsole } from './endpoints.js';
import { ConsoleSource } from './source.js';
import type { ConsoleEndpoint, ConsoleSourceOptions } from './source.js';

/** `LOG_DIR/console-<name>.log`: the primary console; another console `id`: `console-<name>.<id>.log`. */
export function consoleLogPath(logDir: string, name: string, id?: string): string {
  return id === undefined ? `${logDir}/console-${name}.log` : `${logDir}/console-${name}.${id}.log`;
}

/** Output queued for one client beyond which the client is disconnected. */
const MAX_CLIENT_BACKLOG = 8 << 20;

interface DomainConsoles {
  /** The primary console's log: opened when the domain is created, before its machine exists. */
  readonly primary: ConsoleLog;
  /** Which chardev the primary is, once connected. */
  primaryId: string | undefined;
  /** Logs of the other consoles, by chardev id. */
  readonly others: Map<string, ConsoleLog>;
  readonly sources: Map<string, ConsoleSource>;
  /** Attached clients' sockets, ended when the domain goes. */
  readonly clients: Set<Duplex>;
}

/**
 * The consoles of every domain, kept in step with the registry through its events: a domain
 * gets its primary `ConsoleLog` when created or re-adopted, the files follow a rename, and the
 * logs are closed (the files kept, as Xen keeps guest logs) when the domain is destroyed.
 * `connect(record)` attaches every console chardev of a started machine (dom0d calls it before
 * the vCPUs first run, and for each re-adopted domain); `stream` serves one to a client.
 */
export class ConsoleHub {
  readonly #logDir: string;
  readonly #capacity: number | undefined;
  readonly #onError: (e: unknown) => void;
  readonly #sourceOptions: ConsoleSourceOptions;
  readonly #endpointOf: (record: DomainRecord, id: string) => ConsoleEndpoint | undefined;
  readonly #domains = new Map<number, DomainConsoles>();
  readonly #ops = new KeyedQueue<number>();

  constructor(
    logDir: string,
    options: {
      readonly capacity?: number;
      readonly onError?: (e: unknown) => void;
      readonly source?: ConsoleSourceOptions;
      /** Where console `id` of a record is (default `consoleEndpoint`: QEMU's own command line). */
      readonly endpointOf?: (record: DomainRecord, id: string) => ConsoleEndpoint | undefined;
    } = {},
  ) {
    this.#endpointOf = options.endpointOf ?? consoleEndpoint;
    this.#logDir = logDir;
    this.#capacity = options.capacity;
    this.#onError = options.onError ?? (() => undefined);
    this.#sourceOptions = { onError: this.#onError, ...options.source };
  }

  /**
   * Follows `events` from now on; returns the unsubscribe function. A re-adopted domain whose
   * machine is alive is connected as soon as it is announced.
   */
  follow(events: DomainEvents): () => void {
    return events.on((e) => this.#onEvent(e));
  }

  /** The primary console of `domid`, once it is open. */
  async get(domid: number): Promise<ConsoleLog | undefined> {
    await this.#ops.run(domid, () => Promise.resolve());
    return this.#domains.get(domid)?.primary;
  }

  /** The log of console chardev `id` of `domid` (the primary's or another's), once connected. */
  async log(domid: number, id: string): Promise<ConsoleLog | undefined> {
    await this.#ops.run(domid, () => Promise.resolve());
    const d = this.#domains.get(domid);
    if (d === undefined) return undefined;
    return d.primaryId === id ? d.primary : d.others.get(id);
  }

  /**
   * Connects every console chardev of `record` (its `sockets` named `console0`, `serial<N>`,
   * `channel<N>`) to its log; resolves once all are connected, so output can no longer be
   * missed. Consoles already connected are kept. Fails (code IO) when a socket cannot be reached.
   */
  connect(record: DomainRecord): Promise<void> {
    return this.#ops.run(record.domid, async () => {
      const d = await this.#open(record);
      const primary = primaryConsole(record.config);
      d.primaryId ??= consoleIdFor(record, primary.kind, primary.num);
      for (const id of consoleIds(record)) {
        const old = d.sources.get(id);
        if (old?.connected === true) continue;
        const endpoint = this.#endpointOf(record, id);
        if (endpoint === undefined) continue;
        let log = id === d.primaryId ? d.primary : d.others.get(id);
        if (log === undefined) {
          log = await ConsoleLog.open(consoleLogPath(this.#logDir, record.name, id), this.#logOptions());
          d.others.set(id, log);
        }
        await old?.close();
        d.sources.set(id, await ConsoleSource.open(endpoint, log, this.#sourceOptions));
      }
    });
  }

  /**
   * Serves console `id` of `domid` on `client`: the retained output first, then the live output;
   * what the client sends goes to the guest. The client is ended when the domain is destroyed or
   * its QEMU closes the console. Fails with DOMAIN_STATE when the console is not connected;
   * otherwise `ready` is called before the first byte is written.
   */
  async stream(domid: number, id: string, client: Duplex, ready: () => void = () => undefined): Promise<void> {
    await this.#ops.run(domid, () => Promise.resolve());
    const d = this.#domains.get(domid);
    const log = d === undefined ? undefined : d.primaryId === id ? d.primary : d.others.get(id);
    const source = d?.sources.get(id);
    if (d === undefined || log === undefined || source === undefined || !source.connected) {
      throw new ToolstackError('DOMAIN_STATE', `Console ${id} of domain ${domid} is not connected`, {
        hint: 'the domain has no running machine (is it shut down?)',
      });
    }
    ready();
    client.write(log.replay());
    const unsubscribe = log.subscribe((chunk) => {
      // A client that stops reading is dropped rather than buffered without bound (it can
      // attach again: the ring replays).
      if (client.writableLength > MAX_CLIENT_BACKLOG) client.destroy();
      else client.write(chunk);
    });
    d.clients.add(client);
    const done = (): void => {
      unsubscribe();
      d.clients.delete(client);
    };
    client.on('data', (b: Buffer) => source.write(b));
    client.on('close', done);
    client.on('error', done);
    void source.ended.then(() => {
      if (d.sources.get(id) === source) client.end();
    });
  }

  /** Resolves when every queued open/rename/close has finished. */
  idle(): Promise<void> {
    return this.#ops.idle();
  }

  /** Ends every attached client's stream (dom0d stopping). */
  endClients(): void {
    for (const d of this.#domains.values()) for (const c of d.clients) c.end();
  }

  /** Disconnects every console and closes the logs (dom0d stopping: QEMU keeps logging). */
  async closeAll(): Promise<void> {
    await this.idle();
    await Promise.all([...this.#domains.keys()].map((domid) => this.#close(domid)));
  }

  #logOptions(): { onError: (e: unknown) => void; capacity?: number } {
    return { onError: this.#onError, ...(this.#capacity === undefined ? {} : { capacity: this.#capacity }) };
  }

  async #open(record: DomainRecord): Promise<DomainConsoles> {
    let d = this.#domains.get(record.domid);
    if (d === undefined) {
      const primary = await ConsoleLog.open(consoleLogPath(this.#logDir, record.name), this.#logOptions());
      d = { primary, primaryId: undefined, others: new Map(), sources: new Map(), clients: new Set() };
      this.#domains.set(record.domid, d);
    }
    return d;
  }

  async #close(domid: number): Promise<void> {
    const d = this.#domains.get(domid);
    if (d === undefined) return;
    this.#domains.delete(domid);
    await Promise.all([...d.sources.values()].map((s) => s.close()));
    for (const c of d.clients) c.end();
    await Promise.all([d.primary, ...d.others.values()].map((l) => l.close()));
  }

  #onEvent(e: DomainEvent): void {
    const rec = e.record;
    const domid = rec.domid;
    let op: (() => Promise<void>) | undefined;
    if (e.type === 'created') {
      op = async () => {
        await this.#open(rec);
      };
    } else if (e.type === 'adopted') {
      if (rec.qemuPid !== null && consoleIds(rec).length > 0) {
        this.connect(rec).catch((err: unknown) => this.#onError(err));
        return;
      }
      op = async () => {
        await this.#open(rec);
      };
    } else if (e.type === 'renamed') {
      op = async () => {
        const d = this.#domains.get(domid);
        if (d === undefined) return;
        await d.primary.rename(consoleLogPath(this.#logDir, rec.name));
        for (const [id, log] of d.others) await log.rename(consoleLogPath(this.#logDir, rec.name, id));
      };
    } else if (e.type === 'destroyed') {
      op = () => this.#close(domid);
    }
    if (op !== undefined) this.#ops.run(domid, op).catch(this.#onError);
  }
}
