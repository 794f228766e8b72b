// Test harness for xenstored integration tests: a server process of our own (in a temp dir,
// killed by pid), Debian's xenstore-* clients run against it, and raw-frame helpers.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const daemonEntry = join(root, 'src', 'daemon', 'bin.js');

export interface XsServer {
  readonly dir: string;
  readonly socket: string;
  readonly stateDir: string;
  readonly pid: number;
  readonly stderr: string[];
  domainSocket(domid: number): string;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill9(): Promise<void>;
  /** Stops the process (if running) and removes the temp dir. */
  cleanup(): Promise<void>;
}

function waitExit(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** Starts `dom0d xenstored` in `dir` (a new temp dir unless given) and waits until it listens. */
export async function startServer(opts: { dir?: string; args?: readonly string[] } = {}): Promise<XsServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'xs-it-'));
  const socket = join(dir, 'run', 'socket');
  const stateDir = join(dir, 'state');
  const proc = spawn(process.execPath, [daemonEntry, 'xenstored', '--socket', socket, '--state-dir', stateDir, ...(opts.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    proc.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        stderr.push(l);
        if (l.includes('listening on')) resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`xenstored exited (${code}): ${stderr.join('\n')}`)));
  });
  const pid = proc.pid!;
  return {
    dir,
    socket,
    stateDir,
    pid,
    stderr,
    domainSocket: (domid) => join(dir, 'run', `domain-${domid}.sock`),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGTERM');
      await waitExit(proc);
    },
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      await waitExit(proc);
    },
    cleanup: async () => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      await waitExit(proc);
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of Debian's xenstore-* clients against `socket`. */
export function xs(socket: string, cmd: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, XENSTORED_PATH: socket }, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

export const haveXenstoreUtils = existsSync('/usr/bin/xenstore-read');

/** A raw connection speaking frames, for malformed-input tests. */
export class RawConn {
  readonly #sock: Socket;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      for (const w of this.#waiters.splice(0)) w();
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
    sock.on('error', () => {});
  }

  static open(path: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  send(buf: Buffer): void {
    this.#sock.write(buf);
  }

  /** Sends a frame with the given header fields. */
  frame(type: number, payload: Buffer | string, opts: { reqId?: number; txId?: number; len?: number } = {}): void {
    const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const h = Buffer.alloc(16);
    h.writeUInt32LE(type >>> 0, 0);
    h.writeUInt32LE((opts.reqId ?? 0) >>> 0, 4);
    h.writeUInt32LE((opts.txId ?? 0) >>> 0, 8);
    h.writeUInt32LE((opts.len ?? p.length) >>> 0, 12);
    this.send(Buffer.concat([h, p]));
  }

  /** Next message from the server; undefined if the server closed the connection first. */
  async next(timeoutMs = 5000): Promise<{ type: number; reqId: number; txId: number; payload: Buffer } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buf.length >= 16) {
        const len = this.#buf.readUInt32LE(12);
        if (this.#buf.length >= 16 + len) {
          const m = {
            type: this.#buf.readUInt32LE(0),
            reqId: this.#buf.readUInt32LE(4),
            txId: this.#buf.readUInt32LE(8),
            payload: Buffer.from(this.#buf.subarray(16, 16 + len)),
          };
          this.#buf = this.#buf.subarray(16 + len);
          return m;
        }
      }
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a request and returns the reply (skipping watch events). */
  async call(type: number, payload: Buffer | string, opts: { reqId?: number; txId?: number } = {}): Promise<{ type: number; reqId: number; txId: number; text: string } | undefined> {
    this.frame(type, payload, opts);
    for (;;) {
      const m = await this.next();
      if (m === undefined) return undefined;
      if (m.type === 15) continue;
      return { type: m.type, reqId: m.reqId, txId: m.txId, text: m.payload.toString('latin1') };
    }
  }

  close(): void {
    this.#sock.destroy();
  }
}

/**
 * A relay between clients and `upstream` that runs `beforeCommit` (once) just before forwarding
 * the first TRANSACTION_END commit it sees, and counts TRANSACTION_STARTs; used to make Xen's
 * clients meet a real commit conflict.
 */
export function conflictProxy(path: string, upstream: string, beforeCommit: () => Promise<void>): Promise<{ server: Server; starts: () => number }> {
  let fired = false;
  let starts = 0;
  const server = createServer((client) => {
    const up = createConnection(upstream);
    up.on('data', (d) => client.write(d));
    up.on('close', () => client.destroy());
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    client.on('close', () => up.destroy());
    let buf = Buffer.alloc(0);
    let chain = Promise.resolve();
    client.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
        const len = buf.readUInt32LE(12);
        const frame = buf.subarray(0, 16 + len);
        buf = buf.subarray(16 + len);
        const type = frame.readUInt32LE(0);
        if (type === 6) starts++;
        const commit = type === 7 && frame.toString('latin1', 16, 17) === 'T';
        chain = chain.then(async () => {
          if (commit && !fired) {
            fired = true;
            await beforeCommit();
          }
          up.write(frame);
        });
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve({ server, starts: () => starts })));
}
