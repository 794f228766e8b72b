import { createServer } from 'node:net';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { ToolstackError } from '../common/index.js';
import type { DomainEvent, DomainEvents, DomainRecord } from '../domain/index.js';
import { KeyedQueue, listenOn } from '../host/index.js';
import { ConsoleLog } from './console-log.js';
import type { Dmesg } from './dmesg.js';
import { ConsoleSource } from './source.js';
import type { ConsoleSourceOptions } from './source.js';

/**
 * `LOG_DIR/console/<name>/<id>.log`: the log of console chardev `id` of the domains named
 * `name` (a name has no `/`, so no two consoles' files can be the same).
 */
export function consoleLogPath(logDir: string, name: string, id: string): string {
  return `${logDir}/console/${name}/${id}.log`;
}

/** Output queued for one client beyond which the client is disconnected (the replay is up to 1 MiB). */
const MAX_CLIENT_BACKLOG = 2 << 20;
/**
 * Sessions attached to one domain's consoles at once, counted apart for the host's own clients
 * (`xl console`, console/tty) and for remote ones (the API over TCP), so that remote clients
 * cannot lock the host's out; more are refused (CONSOLE_BUSY).
 */
const MAX_CONSOLE_CLIENTS = 16;

interface DomainConsoles {
  /** Each console's log, by chardev id. */
  readonly logs: Map<string, ConsoleLog>;
  readonly sources: Map<string, ConsoleSource>;
  /** The `tty` sockets served, by chardev id. */
  readonly ttys: Map<string, Server>;
  /** Attached clients' sockets, ended when the domain goes. */
  readonly clients: Set<Duplex>;
  /** Those of `clients` that came over TCP. */
  readonly remote: Set<Duplex>;
  /** The guest has stopped (the domain is shut down): sessions end after the replay. */
  stopped: boolean;
  /** The record its consoles were last connected from. */
  record: DomainRecord;
}

/**
 * The consoles of every domain, kept in step with the registry through its events: the logs of
 * a started (or re-adopted) machine's consoles are connected to QEMU by `connect(record)` (dom0d
 * calls it before the vCPUs first run, and for each re-adopted domain), their files follow a
 * rename, and they are closed (the files kept, as Xen keeps guest logs) when the domain is
 * destroyed. `stream` serves one console to a client.
 */
export class ConsoleHub {
  readonly #logDir: string;
  readonly #capacity: number | undefined;
  readonly #onError: (e: unknown) => void;
  readonly #sourceOptions: ConsoleSourceOptions;
  readonly #dmesg: Dmesg | undefined;
  readonly #domains = new Map<number, DomainConsoles>();
  readonly #ops = new KeyedQueue<number>();

  constructor(
    logDir: string,
    options: {
      readonly capacity?: number;
      readonly onError?: (e: unknown) => void;
      readonly source?: ConsoleSourceOptions;
      /** Where each domain's debug port output goes, as `(dN)` lines (dom0's `xl dmesg` ring). */
      readonly dmesg?: Dmesg;
    } = {},
  ) {
    this.#logDir = logDir;
    this.#capacity = options.capacity;
    this.#onError = options.onError ?? (() => undefined);
    this.#sourceOptions = { onError: this.#onError, ...options.source };
    this.#dmesg = options.dmesg;
  }

  /**
   * Follows `events` from now on; returns the unsubscribe function. A re-adopted domain whose
   * machine is alive is connected as soon as it is announced.
   */
  follow(events: DomainEvents): () => void {
    return events.on((e) => this.#onEvent(e));
  }

  /** The log of console chardev `id` of `domid`, once connected. */
  async log(domid: number, id: string): Promise<ConsoleLog | undefined> {
    await this.#ops.run(domid, () => Promise.resolve());
    return this.#domains.get(domid)?.logs.get(id);
  }

  /**
   * Connects every console of `record` to its log; resolves once all are connected, so output
   * can no longer be missed. Consoles already connected are kept. Fails (code IO) when a socket
   * cannot be reached.
   */
  connect(record: DomainRecord): Promise<void> {
    return this.#ops.run(record.domid, async () => {
      let d = this.#domains.get(record.domid);
      if (d === undefined) {
        d = { logs: new Map(), sources: new Map(), ttys: new Map(), clients: new Set(), remote: new Set(), stopped: false, record };
        this.#domains.set(record.domid, d);
      }
      d.record = record;
      if (record.state === 'shutdown') d.stopped = true;
      for (const c of record.consoles) {
        const old = d.sources.get(c.id);
        if (old?.connected === true) continue;
        let log = d.logs.get(c.id);
        if (log === undefined) {
          log = await ConsoleLog.open(consoleLogPath(this.#logDir, record.name, c.id), this.#logOptions());
          d.logs.set(c.id, log);
          if (c.kind === 'debug' && this.#dmesg !== undefined) log.subscribe(this.#dmesg.guest(record.domid));
        }
        await old?.close();
        d.sources.set(c.id, await ConsoleSource.open({ socket: c.socket, logFile: c.feed }, log, this.#sourceOptions));
        if (c.kind !== 'debug' && !d.ttys.has(c.id)) d.ttys.set(c.id, await this.#serveTty(record.domid, c.id, c.tty));
      }
    });
  }

  /** Serves console `id` of `domid` to every client of the Unix socket `path` (mode 0600). */
  async #serveTty(domid: number, id: string, path: string): Promise<Server> {
    const server = createServer((client) => {
      client.on('error', () => client.destroy());
      this.stream(domid, id, client).catch(() => client.destroy());
    });
    await listenOn(server, { path }, this.#onError);
    return server;
  }

  /**
   * Serves console `id` of `domid` on `client`: the retained output first, then the live output;
   * what the client sends goes to the guest. The client is ended, as xenconsole ends, when the
   * guest stops (the domain shuts down: poweroff, crash, reboot), the domain is destroyed, or its
   * QEMU closes the console; a stopped domain's console is replayed, then ended. Fails with DOMAIN_STATE when the console is not connected;
   * otherwise `ready` is called before the first byte is written.
   */
  async stream(domid: number, id: string, client: Duplex, ready: () => void = () => undefined, remote = false): Promise<void> {
    await this.#ops.run(domid, () => Promise.resolve());
    const was = this.#domains.get(domid);
    // A console whose connect failed (at a takeover with no descriptor left, say) and was never
    // connected since: tried again now (one that ended stays ended).
    if (was !== undefined && !was.stopped && !was.sources.has(id) && was.record.consoles.some((c) => c.id === id)) {
      await this.connect(was.record).catch(this.#onError);
    }
    const d = this.#domains.get(domid);
    const log = d?.logs.get(id);
    const source = d?.sources.get(id);
    if (d === undefined || log === undefined || source === undefined || !source.connected) {
      throw new ToolstackError('DOMAIN_STATE', `Console ${id} of domain ${domid} is not connected`, {
        hint: 'the domain has no running machine (is it shut down?)',
      });
    }
    const attached = remote ? d.remote.size : d.clients.size - d.remote.size;
    if (attached >= MAX_CONSOLE_CLIENTS) {
      throw new ToolstackError('CONSOLE_BUSY', `Domain ${domid} has ${attached} ${remote ? 'remote ' : ''}console sessions attached`, {
        hint: 'end one of them (xl console, a web console, a client of console/tty) and attach again',
      });
    }
    ready();
    d.clients.add(client);
    if (remote) d.remote.add(client);
    // One wait per client on the console's end, forgotten with the client (a promise's `then`
    // held every client ever attached until the console itself ended).
    const offEnded = source.onEnded(() => {
      if (d.sources.get(id) === source) client.end();
    });
    const forget = (): void => {
      d.clients.delete(client);
      d.remote.delete(client);
      offEnded();
    };
    client.on('close', forget);
    client.on('error', forget);
    client.write(log.replay());
    if (d.stopped) {
      // As xenconsole: a domain that has shut down has nothing more to say.
      client.end();
      return;
    }
    const unsubscribe = log.subscribe((chunk) => {
      // A client that stops reading is dropped rather than buffered without bound (it can
      // attach again: the ring replays).
      if (client.writableLength > MAX_CLIENT_BACKLOG) client.destroy();
      else client.write(chunk);
    });
    client.on('close', unsubscribe);
    client.on('error', unsubscribe);
    client.on('data', (b: Buffer) => {
      source.write(b);
      // A guest that takes no input (paused, or not reading its console) holds the client back:
      // its keystrokes wait in the client and the kernel, not in dom0d.
      if (source.inputBlocked) {
        client.pause();
        void source.inputRoom().then(() => client.resume());
      }
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

  async #close(domid: number): Promise<void> {
    const d = this.#domains.get(domid);
    if (d === undefined) return;
    this.#domains.delete(domid);
    for (const c of d.clients) c.end();
    await Promise.all([...d.ttys.values()].map((t) => new Promise((r) => t.close(r))));
    await Promise.all([...d.sources.values()].map((s) => s.close()));
    await Promise.all([...d.logs.values()].map((l) => l.close()));
  }

  #onEvent(e: DomainEvent): void {
    const rec = e.record;
    const domid = rec.domid;
    // A suspended domain is still there, to be resumed: its sessions stay (as xenconsole's do).
    if (e.type === 'state' && e.to === 'shutdown' && rec.shutdownReason !== 'suspend') {
      this.#ops.run(domid, async () => {
        const d = this.#domains.get(domid);
        if (d === undefined) return;
        d.stopped = true;
        // What the guest printed last (a panic, the poweroff line) reaches the clients first.
        await Promise.all([...d.sources.values()].map((src) => src.drain()));
        for (const c of d.clients) c.end();
      }).catch(this.#onError);
    } else if (e.type === 'adopted' && rec.qemuPid !== null && rec.consoles.length > 0) {
      this.connect(rec).catch(this.#onError);
    } else if (e.type === 'renamed') {
      this.#ops.run(domid, async () => {
        const d = this.#domains.get(domid);
        for (const [id, log] of d?.logs ?? []) await log.rename(consoleLogPath(this.#logDir, rec.name, id));
      }).catch(this.#onError);
    } else if (e.type === 'destroyed') {
      this.#ops.run(domid, () => this.#close(domid)).catch(this.#onError);
    }
  }
}
