// Benchmark: how fast guests reach their readiness line under dom0 against what a user would run
// otherwise — bare QEMU with its default command line (`-kernel -initrd -append -m`, console on
// the default serial port) — one guest, and ten started at once, interleaved, medians of RUNS:
// - one: `xl create` → DOM0-GUEST-READY in dom0d's console log, against bare QEMU spawned → the
//   line in its serial file (goal ≤ 1.05);
// - ten at once: ten parallel `xl create`s → all ten ready, against ten bare QEMUs (goal ≤ 1.05);
// - dom0's own argv started bare (no dom0d), to tell the command line's share from dom0d's.
// Prints one JSON object. libvirt is not installed here; its figure is not measured.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { killPid } from '../src/host/index.js';
import { ensureGuests, GUEST_READY_LINE } from '../test/support/guests.js';
import { benchHost, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 3);
const TEN = 10;
const MEMORY_MIB = 128;

/** Resolves once every file of `files` holds `text` after its byte `from[i]`; ms since `t0`. */
async function allReady(files: readonly string[], from: readonly number[], t0: number, timeoutMs = 180_000): Promise<number> {
  const done = new Set<number>();
  while (done.size < files.length) {
    files.forEach((f, i) => {
      if (done.has(i)) return;
      try {
        if (readFileSync(f).subarray(from[i] ?? 0).includes(GUEST_READY_LINE)) done.add(i);
      } catch {
        // not there yet
      }
    });
    if (performance.now() - t0 > timeoutMs) throw new Error(`guest-speed: ${files.length - done.size} guest(s) never got ready`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

function sizeOf(file: string): number {
  try {
    return readFileSync(file).length;
  } catch {
    return 0;
  }
}

export async function guestSpeed(runs = RUNS): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  const cmdline = guests.pvCmdline.replace('console=hvc0', '').trim();
  for (let i = 0; i < TEN; i++) {
    writeFileSync(join(dir, `g${i}.cfg`), [
      `name = "g${i}"`, `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "console=hvc0 ${cmdline}"`, `memory = ${MEMORY_MIB}`,
    ].join('\n'));
  }
  const bareArgs = (out: string): string[] => [
    '-kernel', guests.vmlinuz, '-initrd', guests.initrd, '-append', `console=ttyS0 ${cmdline}`, '-m', String(MEMORY_MIB),
    '-display', 'none', '-serial', `file:${out}`,
  ];
  const consoleLog = (i: number): string => join(dir, 'log', 'console', `g${i}`, 'console0.log');
  const children = new Set<ChildProcess>();
  const bare = async (n: number): Promise<number> => {
    const outs = Array.from({ length: n }, (_, i) => join(dir, `bare${i}.out`));
    for (const o of outs) rmSync(o, { force: true });
    const t0 = performance.now();
    const started = outs.map((o) => spawn('qemu-system-x86_64', bareArgs(o), { stdio: 'ignore' }));
    for (const c of started) children.add(c);
    const ms = await allReady(outs, outs.map(() => 0), t0);
    for (const c of started) {
      c.kill('SIGKILL');
      children.delete(c);
    }
    return ms;
  };
  const dom0 = async (n: number): Promise<number> => {
    const from = Array.from({ length: n }, (_, i) => sizeOf(consoleLog(i)));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((resolve, reject) => {
      const c = spawn(XL, ['create', '-q', `g${i}.cfg`], { env, cwd: dir, stdio: 'ignore' });
      c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`xl create g${i} exited ${code}`))));
    })));
    const ms = await allReady(Array.from({ length: n }, (_, i) => consoleLog(i)), from, t0);
    for (let i = 0; i < n; i++) wallMs([XL, 'destroy', `g${i}`], env);
    return ms;
  };
  let dom0d: number | undefined;
  const t = { bareOne: [] as number[], dom0One: [] as number[], bareTen: [] as number[], dom0Ten: [] as number[] };
  try {
    wallMs([XL, 'list'], env);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    await dom0(1); // warm-up: QEMU capabilities and the accelerator probe are cached on disk
    for (let r = 0; r < runs; r++) {
      t.bareOne.push(await bare(1));
      t.dom0One.push(await dom0(1));
      t.bareTen.push(await bare(TEN));
      t.dom0Ten.push(await dom0(TEN));
    }
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      bench: 'guest-speed',
      runs,
      guest: `pv test guest (direct kernel boot, ${MEMORY_MIB} MiB, TCG); bare: QEMU's default command line, console ttyS0`,
      oneBareS: r3(median(t.bareOne) / 1000),
      oneDom0S: r3(median(t.dom0One) / 1000),
      oneRatio: r3(median(t.dom0One) / median(t.bareOne)),
      tenBareS: r3(median(t.bareTen) / 1000),
      tenDom0S: r3(median(t.dom0Ten) / 1000),
      tenRatio: r3(median(t.dom0Ten) / median(t.bareTen)),
      goalRatio: 1.05,
    };
  } finally {
    for (const c of children) if (c.pid !== undefined) killPid(c.pid);
    for (let i = 0; i < TEN; i++) {
      try {
        wallMs([XL, 'destroy', `g${i}`], env);
      } catch {
        // not there
      }
    }
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await guestSpeed()));
}
