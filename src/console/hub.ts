import type { DomainEvent, DomainEvents } from '../domain/index.js';
import { KeyedQueue } from '../domain/index.js';
import { ConsoleLog } from './console-log.js';

/** `LOG_DIR/console-<name>.log`. */
export function consoleLogPath(logDir: string, name: string): string {
  return `${logDir}/console-${name}.log`;
}

/**
 * The consoles of every domain, kept in step with the registry through its events: a domain
 * gets its `ConsoleLog` when created or re-adopted, the file follows a rename, and the log is
 * closed (the file kept, as Xen keeps guest logs) when the domain is destroyed.
 */
export class ConsoleHub {
  readonly #logDir: string;
  readonly #capacity: number | undefined;
  readonly #onError: (e: unknown) => void;
  readonly #logs = new Map<number, ConsoleLog>();
  readonly #ops = new KeyedQueue<number>();

  constructor(logDir: string, options: { readonly capacity?: number; readonly onError?: (e: unknown) => void } = {}) {
    this.#logDir = logDir;
    this.#capacity = options.capacity;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Follows `events` from now on; returns the unsubscribe function. */
  follow(events: DomainEvents): () => void {
    return events.on((e) => this.#onEvent(e));
  }

  /** The console of `domid`, once it is open. */
  async get(domid: number): Promise<ConsoleLog | undefined> {
    await this.#ops.run(domid, () => Promise.resolve());
    return this.#logs.get(domid);
  }

  /** Resolves when every queued open/rename/close has finished. */
  idle(): Promise<void> {
    return this.#ops.idle();
  }

  async closeAll(): Promise<void> {
    await this.idle();
    await Promise.all([...this.#logs.values()].map((l) => l.close()));
    this.#logs.clear();
  }

  #onEvent(e: DomainEvent): void {
    const domid = e.record.domid;
    let op: (() => Promise<void>) | undefined;
    if (e.type === 'created' || e.type === 'adopted') {
      const path = consoleLogPath(this.#logDir, e.record.name);
      op = async () => {
        if (this.#logs.has(domid)) return;
        const opts = { onError: this.#onError, ...(this.#capacity === undefined ? {} : { capacity: this.#capacity }) };
        this.#logs.set(domid, await ConsoleLog.open(path, opts));
      };
    } else if (e.type === 'renamed') {
      const path = consoleLogPath(this.#logDir, e.record.name);
      op = async () => this.#logs.get(domid)?.rename(path);
    } else if (e.type === 'destroyed') {
      op = async () => {
        const log = this.#logs.get(domid);
        this.#logs.delete(domid);
        await log?.close();
      };
    }
    if (op !== undefined) this.#ops.run(domid, op).catch(this.#onError);
  }
}
