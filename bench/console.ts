// Benchmark: guest console throughput through dom0d's console path — a QEMU-like socket chardev
// with `logfile=` (every byte to the client and appended to the file), followed by a
// ConsoleSource (output taken from the log file) into a ConsoleLog (ring + its own file) — against
// the same-run baseline of a plain client reading the socket (the chardev logging to its file in
// both, as QEMU does). 8 MiB in 4 KiB writes, medians of
// RUNS interleaved rounds. And the trickle: a chardev in another process writing a byte at a time
// (as QEMU's serial port and debug port do) at 100 KB/s for 3 s, and the CPU this process spends
// following it per second (`trickleCpuMsPerS`), against a plain client reading the socket.
// Prints one JSON object.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConsoleLog, ConsoleSource } from '../src/console/index.js';

const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 5);
const TOTAL = 8 << 20;
const CHUNK = 4096;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/** Starts a chardev at `sock`; resolves with a function that writes the whole output. */
async function chardev(sock: string, logFile: string | undefined): Promise<{ emit: () => Promise<void>; close: () => void }> {
  let client: Socket | undefined;
  const server = createServer();
  const connected = new Promise<void>((resolve) => {
    server.on('connection', (c) => {
      client = c;
      resolve();
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const chunk = Buffer.alloc(CHUNK, 'x');
  return {
    emit: async () => {
      await connected;
      for (let sent = 0; sent < TOTAL; sent += CHUNK) {
        if (client?.write(chunk) === false) await new Promise((r) => client?.once('drain', r));
        if (logFile !== undefined) appendFileSync(logFile, chunk);
      }
    },
    close: () => {
      client?.destroy();
      server.close();
    },
  };
}

async function viaConsole(dir: string, i: number): Promise<number> {
  const sock = join(dir, `c${i}.sock`);
  const logFile = join(dir, `c${i}.qemu.log`);
  writeFileSync(logFile, '');
  const dev = await chardev(sock, logFile);
  const log = await ConsoleLog.open(join(dir, `console-${i}.log`));
  let got = 0;
  const done = new Promise<void>((resolve) => log.subscribe((c) => {
    got += c.length;
    if (got >= TOTAL) resolve();
  }));
  const src = await ConsoleSource.open({ socket: sock, logFile }, log);
  const t0 = process.hrtime.bigint();
  await dev.emit();
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await src.close();
  await log.close();
  dev.close();
  return ms;
}

async function baseline(dir: string, i: number): Promise<number> {
  const sock = join(dir, `b${i}.sock`);
  const logFile = join(dir, `b${i}.qemu.log`);
  writeFileSync(logFile, '');
  const dev = await chardev(sock, logFile);
  const c = connect(sock);
  let got = 0;
  const done = new Promise<void>((resolve) => c.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= TOTAL) resolve();
  }));
  const t0 = process.hrtime.bigint();
  await dev.emit();
  await done;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  c.destroy();
  dev.close();
  return ms;
}

const TRICKLE_BPS = 100_000;
const TRICKLE_S = 3;
/** The trickling chardev: listens on argv[1], appends to argv[2] and writes argv[3] bytes/s, one byte a write, for argv[4] s. */
const TRICKLER = `const net = require('net'), fs = require('fs');
const [sock, log, bps, secs] = process.argv.slice(1);
const fd = fs.openSync(log, 'a');
const b = Buffer.from('x');
net.createServer((c) => {
  const end = Date.now() + secs * 1000;
  const tick = () => {
    if (Date.now() > end) { c.destroy(); process.exit(0); }
    for (let i = 0; i < bps / 1000; i++) { c.write(b); fs.writeSync(fd, b); }
    setTimeout(tick, 1);
  };
  tick();
}).listen(sock, () => process.stdout.write('ready\\n'));`;

/** CPU ms per second this process spends following a trickling chardev, through the console path or as a plain reader. */
async function trickle(dir: string, i: number, console: boolean): Promise<number> {
  const sock = join(dir, `t${i}${console ? 'c' : 'b'}.sock`);
  const logFile = join(dir, `t${i}${console ? 'c' : 'b'}.qemu.log`);
  writeFileSync(logFile, '');
  const child = spawn(process.execPath, ['-e', TRICKLER, sock, logFile, String(TRICKLE_BPS), String(TRICKLE_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => child.stdout.once('data', r));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let stop: () => Promise<void>;
  if (console) {
    const log = await ConsoleLog.open(join(dir, `trickle-${i}.log`));
    const src = await ConsoleSource.open({ socket: sock, logFile }, log);
    stop = async () => {
      await src.close();
      await log.close();
    };
  } else {
    const c = connect(sock);
    c.on('data', () => undefined);
    c.on('error', () => undefined);
    stop = () => Promise.resolve(void c.destroy());
  }
  await exited;
  const cpu = process.cpuUsage(cpu0);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await stop();
  return (cpu.user + cpu.system) / 1000 / s;
}

export async function consoleBench(runs = RUNS): Promise<Record<string, unknown>> {
  const dir = mkdtempSync('/tmp/dom0-bench-console-');
  try {
    const con: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < runs; i++) {
      base.push(await baseline(dir, i));
      con.push(await viaConsole(dir, i));
    }
    const c = median(con);
    const b = median(base);
    const tCon: number[] = [];
    const tBase: number[] = [];
    for (let i = 0; i < Math.min(runs, 3); i++) {
      tBase.push(await trickle(dir, i, false));
      tCon.push(await trickle(dir, i, true));
    }
    return {
      bench: 'console-throughput',
      bytes: TOTAL,
      consoleMs: Math.round(c * 10) / 10,
      baselineSocketMs: Math.round(b * 10) / 10,
      ratio: Math.round((c / b) * 100) / 100,
      consoleMiBps: Math.round((TOTAL / 1048576 / (c / 1000)) * 10) / 10,
      trickleBytesPerS: TRICKLE_BPS,
      trickleCpuMsPerS: Math.round(median(tCon) * 10) / 10,
      trickleBaselineCpuMsPerS: Math.round(median(tBase) * 10) / 10,
      trickleRatio: Math.round((median(tCon) / median(tBase)) * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await consoleBench())}\n`);
}
