/**
 * A scripted QMP server for tests of edge cases a real QEMU rarely shows (errors, replies split
 * across writes, events between replies, a peer that dies mid-command). It speaks the QMP wire
 * format on a Unix socket: greeting on connect, one JSON object a line, replies echo `id`.
 * Not for production use; real-QEMU tests cover the normal path.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** What the fake does with one command: answer, fail, hang up, or stay silent. */
export type FakeQmpReply =
  | { readonly return: unknown }
  | { readonly error: { readonly class: string; readonly desc: string } }
  | { readonly close: true }
  | { readonly silent: true };

export type FakeQmpHandler = (args: Readonly<Record<string, unknown>> | undefined) => FakeQmpReply;

export interface FakeQmpOptions {
  /** Replies by command name; `qmp_capabilities` answers `{}` unless given. Unknown commands
   * get QEMU's CommandNotFound error. */
  readonly handlers?: Readonly<Record<string, FakeQmpHandler>>;
  /** Raw text sent on connect instead of the standard greeting. */
  readonly greeting?: string;
}

export interface FakeQmpCommand {
  readonly execute: string;
  readonly arguments?: Readonly<Record<string, unknown>>;
  readonly id?: unknown;
}

export class FakeQmpPeer {
  readonly path: string;
  /** Every command received, in order. */
  readonly received: FakeQmpCommand[] = [];
  readonly #server: Server;
  readonly #clients = new Set<Socket>();
  readonly #handlers: Record<string, FakeQmpHandler>;
  readonly #greeting: string;

  private constructor(path: string, server: Server, options: FakeQmpOptions) {
    this.path = path;
    this.#server = server;
    this.#handlers = { qmp_capabilities: () => ({ return: {} }), ...options.handlers };
    this.#greeting = options.greeting ??
      `${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: 'fake' }, capabilities: ['oob'] } })}\r\n`;
  }

  static async listen(path: string, options: FakeQmpOptions = {}): Promise<FakeQmpPeer> {
    const server = createServer();
    const peer = new FakeQmpPeer(path, server, options);
    server.on('connection', (s) => peer.#accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return peer;
  }

  /** Replaces (or adds) the handler of one command. */
  handle(command: string, handler: FakeQmpHandler): void {
    this.#handlers[command] = handler;
  }

  /** Sends raw bytes to every connected client (to split or merge messages at will). */
  sendRaw(text: string | Uint8Array): void {
    for (const c of this.#clients) c.write(text);
  }

  /** Sends an event to every connected client, its fields in QEMU's order. */
  emit(event: string, data: Readonly<Record<string, unknown>> = {}): void {
    this.sendRaw(`${JSON.stringify({ timestamp: { seconds: 1, microseconds: 2 }, event, data })}\r\n`);
  }

  /** Closes every client connection, as an exiting QEMU does. */
  dropClients(): void {
    for (const c of this.#clients) c.destroy();
    this.#clients.clear();
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
    socket.on('error', () => this.#clients.delete(socket));
    socket.write(this.#greeting);
    let rest = '';
    socket.on('data', (chunk) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() !== '') this.#command(socket, JSON.parse(line) as FakeQmpCommand);
      }
    });
  }

  #command(socket: Socket, cmd: FakeQmpCommand): void {
    this.received.push(cmd);
    const handler = this.#handlers[cmd.execute];
    const reply: FakeQmpReply = handler === undefined ?
      { error: { class: 'CommandNotFound', desc: `The command ${cmd.execute} has not been found` } } :
      handler(cmd.arguments);
    if ('close' in reply) {
      socket.destroy();
      return;
    }
    if ('silent' in reply) return;
    const id = cmd.id === undefined ? {} : { id: cmd.id };
    socket.write(`${JSON.stringify({ ...reply, ...id })}\r\n`);
  }
}
