// Benchmark of dom0's xenstored, printing JSON: reads, writes and transactions per second with 1
// and 8 connections (p50/p99 latency), watch-event latency with 1,000 watchers, and a same-run
// baseline: a plain Unix-socket echo server answering the same frames. Both servers run as their
// own processes; one minimal raw-frame client drives both, one request in flight per connection.
// Reads and echo run in alternating rounds; each reports its median round.
//   node dist/bench/xenstore.js [--seconds N]
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOM0D_NODE_FLAGS } from '../src/api/index.js';

// Runs from dist/bench/: the daemon entry is dist/src/daemon/bin.js, with the node flags dom0d runs with.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;

function frame(type: number, payload: string | Buffer, txId = 0, reqId = 0): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const h = Buffer.alloc(16);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(reqId, 4);
  h.writeUInt32LE(txId, 8);
  h.writeUInt32LE(p.length, 12);
  return Buffer.concat([h, p]);
}

interface Msg { type: number; txId: number; payload: Buffer }

/** One connection, one request in flight; watch events go to `onEvent`. */
class RawClient {
  #buf: Buffer = Buffer.alloc(0);
  #waiting: ((m: Msg) => void) | undefined;
  onEvent: (m: Msg) => void = () => {};
  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 16) {
        const len = this.#buf.readUInt32LE(12);
        if (this.#buf.length < 16 + len) break;
        const m = { type: this.#buf.readUInt32LE(0), txId: this.#buf.readUInt32LE(8), payload: this.#buf.subarray(16, 16 + len) };
        this.#buf = this.#buf.subarray(16 + len);
        if (m.type === 15) this.onEvent(m);
        else {
          const w = this.#waiting;
          this.#waiting = undefined;
          w?.(m);
        }
      }
    });
  }
  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  call(buf: Buffer): Promise<Msg> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.sock.write(buf);
    });
  }
  close(): void {
    this.sock.destroy();
  }
}

interface Result { opsPerSec: number; p50Us: number; p99Us: number; ops: number }

function summarize(lat: number[], seconds: number): Result {
  lat.sort((a, b) => a - b);
  const q = (f: number): number => Math.round((lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] ?? 0) * 10) / 10;
  return { opsPerSec: Math.round(lat.length / seconds), p50Us: q(0.5), p99Us: q(0.99), ops: lat.length };
}

const ROUNDS = 3;

/** The round with the median throughput. */
function median(rounds: Result[]): Result {
  return [...rounds].sort((x, y) => x.opsPerSec - y.opsPerSec)[Math.floor(rounds.length / 2)]!;
}

/** Runs `op` in a loop on each connection for SECONDS; latency per op in microseconds. */
async function measure(conns: RawClient[], op: (c: RawClient, i: number, n: number) => Promise<void>): Promise<Result> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(conns.map(async (c, i) => {
    for (let n = 0; performance.now() < end; n++) {
      const s = performance.now();
      await op(c, i, n);
      lat.push((performance.now() - s) * 1000);
    }
  }));
  return summarize(lat, (performance.now() - t0) / 1000);
}

function startProcess(args: string[], ready: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(ready)) resolve(p);
    });
    p.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const ECHO_SERVER = `
const net = require('node:net');
const s = net.createServer((c) => { c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
s.listen(process.argv[1], () => process.stderr.write('echo ready\\n'));
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xs-bench-'));
  const xsSock = join(dir, 'run', 'socket');
  const echoSock = join(dir, 'echo.sock');
  const procs: ChildProcess[] = [];
  try {
    procs.push(await startProcess([...DOM0D_NODE_FLAGS, join(root, 'src', 'daemon', 'bin.js'), 'xenstored', '--socket', xsSock, '--state-dir', join(dir, 'state')], 'listening on'));
    procs.push(await startProcess(['-e', ECHO_SERVER, echoSock], 'echo ready'));

    const setup = await RawClient.open(xsSock);
    const value = 'value-of-the-benchmark-key';
    for (let i = 0; i < 8; i++) {
      await setup.call(frame(11, `/bench/k${i}\0${value}`));
      // Transactions then only change existing leaves of their own: no conflicts between them.
      for (let k = 0; k < 100; k++) await setup.call(frame(11, `/bench/t${i}/k${k}\0${value}`));
    }
    const readFrames = Array.from({ length: 8 }, (_, i) => frame(2, `/bench/k${i}\0`));

    const open = (path: string, n: number): Promise<RawClient[]> => Promise.all(Array.from({ length: n }, () => RawClient.open(path)));
    const results: Record<string, unknown> = {};
    let conflicts = 0;
    for (const n of [1, 8]) {
      const echo = await open(echoSock, n);
      const xs = await open(xsSock, n);
      // The echo answers each read frame with the same bytes: the same message sizes both ways.
      // Rounds alternate between the two so that load from elsewhere hits both alike.
      const echoRounds: Result[] = [];
      const readRounds: Result[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        echoRounds.push(await measure(echo, (c, i) => c.call(readFrames[i]!).then(() => undefined)));
        readRounds.push(await measure(xs, (c, i) => c.call(readFrames[i]!).then(() => undefined)));
      }
      echo.forEach((c) => c.close());
      results[`echo_${n}conn`] = median(echoRounds);
      results[`read_${n}conn`] = median(readRounds);
      results[`write_${n}conn`] = await measure(xs, (c, i, k) => c.call(frame(11, `/bench/w${i}/k${k % 100}\0${value}`)).then(() => undefined));
      results[`transaction_${n}conn`] = await measure(xs, async (c, i, k) => {
        const start = await c.call(frame(6, '\0'));
        const tx = Number(start.payload.toString('latin1').replace('\0', ''));
        await c.call(frame(2, `/bench/k${i}\0`, tx));
        await c.call(frame(11, `/bench/t${i}/k${k % 100}\0${value}`, tx));
        const end = await c.call(frame(7, 'T\0', tx));
        if (end.type === 16) conflicts++;
      });
      xs.forEach((c) => c.close());
    }
    results['transaction_conflicts'] = conflicts;

    // 1,000 watchers on /bench/watch over 10 connections; a writer changes a node below it.
    const watchers = await open(xsSock, 10);
    let received = 0;
    let sentAt = 0;
    const lat: number[] = [];
    let done: (() => void) | undefined;
    for (const w of watchers) {
      w.onEvent = () => {
        if (sentAt === 0) return;
        lat.push((performance.now() - sentAt) * 1000);
        if (++received === 1000) done?.();
      };
    }
    for (let i = 0; i < 1000; i++) await watchers[i % 10]!.call(frame(4, `/bench/watch\0tok${i}\0`));
    await new Promise((r) => setTimeout(r, 200));
    const writer = await RawClient.open(xsSock);
    const rounds = 20;
    for (let r = 0; r < rounds; r++) {
      received = 0;
      const all = new Promise<void>((resolve) => (done = resolve));
      sentAt = performance.now();
      await writer.call(frame(11, `/bench/watch/x\0${r}`));
      await all;
      sentAt = 0;
    }
    results['watch_event_1000_watchers'] = { ...summarize(lat, 1), ops: lat.length, rounds, opsPerSec: undefined };
    watchers.forEach((c) => c.close());
    writer.close();
    setup.close();

    const e1 = results['echo_1conn'] as Result;
    const e8 = results['echo_8conn'] as Result;
    const r1 = results['read_1conn'] as Result;
    const r8 = results['read_8conn'] as Result;
    process.stdout.write(`${JSON.stringify({
      bench: 'xenstore',
      seconds_per_case: SECONDS,
      node: process.version,
      results,
      ratios: {
        read_vs_echo_1conn: Math.round((r1.opsPerSec / e1.opsPerSec) * 100) / 100,
        read_vs_echo_8conn: Math.round((r8.opsPerSec / e8.opsPerSec) * 100) / 100,
      },
      goal: 'reads >= 0.5x echo',
    }, null, 2)}\n`);
  } finally {
    for (const p of procs) if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
