// Benchmark: a guest's disk throughput under dom0 against bare QEMU (issue 9), in the same run.
// - dom0: a PV guest with `disk = [ "format=raw,vdev=xvda,access=rw,target=IMG" ]` (dom0's
//   default disk options);
// - bare: the same kernel and initrd on bare QEMU with its serial console on a socket and the
//   same image on virtio-blk with the best of a few -drive option sets (each measured once
//   first; the fastest is the baseline);
// - in each guest, busybox dd on /dev/vda with O_DIRECT: 1 MiB blocks (512 MiB) and 4 KiB blocks (16 MiB), read
//   and write (busybox has no random-I/O tool: the 4 KiB blocks are sequential); MB/s as dd
//   reports it, medians of RUNS, the pairs alternated (goal: dom0 ÷ bare ≥ 0.95).
// Prints one JSON object.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../test/support/guests.js';
import type { GuestImages } from '../test/support/guests.js';
import { benchHost, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 5);
const IMAGE_MIB = 160;
const MEMORY_MIB = 256;

/** The -drive option sets tried for bare QEMU (QEMU's default first). */
const BARE_OPTIONS: Readonly<Record<string, string>> = {
  default: 'cache=writeback,aio=threads',
  'none-native': 'cache=none,aio=native',
  'none-io_uring': 'cache=none,aio=io_uring',
};

/** In-guest dd runs: name → its dd arguments, the bytes they move (on /dev/vda), how many times in a row. */
interface DdCase {
  readonly dd: string;
  readonly bytes: number;
  readonly times?: number;
}

const CASES: Readonly<Record<string, DdCase>> = {
  seqRead1M: { dd: 'if=/dev/vda of=/dev/null bs=1M count=128 iflag=direct', bytes: 128 << 20, times: 4 },
  seqWrite1M: { dd: 'if=/dev/zero of=/dev/vda bs=1M count=128 oflag=direct conv=fsync', bytes: 128 << 20, times: 4 },
  read4K: { dd: 'if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct', bytes: 4096 * 4096 },
  write4K: { dd: 'if=/dev/zero of=/dev/vda bs=4k count=4096 oflag=direct conv=fsync', bytes: 4096 * 4096 },
};

/**
 * MB/s of one dd run, timed in the guest by /proc/uptime (10 ms resolution; busybox's dd prints
 * no timing here).
 */
async function ddRate(con: GuestConsole, c: DdCase): Promise<number> {
  const times = c.times ?? 1;
  const r = await con.run(`a=$(cut -d' ' -f1 /proc/uptime); i=0; while [ $i -lt ${times} ] && dd ${c.dd} 2>/dev/null; do i=$((i+1)); done; ` +
    `[ $i = ${times} ] && b=$(cut -d' ' -f1 /proc/uptime) && echo "T $a $b"`, 300_000);
  const m = /T ([\d.]+) ([\d.]+)/.exec(r.out);
  if (r.rc !== 0 || m === null) throw new Error(`devices: dd ${c.dd}: ${r.out}`);
  return (c.bytes * times) / 1e6 / Math.max(Number(m[2]) - Number(m[1]), 0.01);
}

async function ready(con: GuestConsole): Promise<GuestConsole> {
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 180_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  return con;
}

/** Bare QEMU: the default command line plus the disk with `options`, serial console on `sock`. */
async function bareGuest(guests: GuestImages, image: string, options: string, sock: string): Promise<{ child: ChildProcess; con: GuestConsole }> {
  const cmdline = guests.pvCmdline.replace('console=hvc0', '').trim();
  const child = spawn('qemu-system-x86_64', [
    '-kernel', guests.vmlinuz, '-initrd', guests.initrd, '-append', `console=ttyS0 ${cmdline}`, '-m', String(MEMORY_MIB),
    '-display', 'none', '-serial', `unix:${sock},server=on,wait=off`,
    '-drive', `file=${image},format=raw,if=none,id=d0,${options}`, '-device', 'virtio-blk-pci,drive=d0',
  ], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      return { child, con: await ready(await GuestConsole.connect(sock, 200)) };
    } catch (e: unknown) {
      if (child.exitCode !== null) throw new Error(`devices: bare QEMU exited ${child.exitCode} (${options})`);
      if (!(e instanceof Error) || !/ENOENT|ECONNREFUSED|connect/.test(e.message)) throw e;
    }
  }
  throw new Error('devices: bare QEMU\'s console never came up');
}

export async function devices(): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  let dom0d: number | undefined;
  const children: ChildProcess[] = [];
  const consoles: GuestConsole[] = [];
  try {
    const images = { dom0: join(dir, 'dom0.img'), bare: join(dir, 'bare.img') };
    execFileSync('dd', ['if=/dev/urandom', `of=${images.dom0}`, 'bs=1M', `count=${IMAGE_MIB}`, 'status=none']);
    execFileSync('cp', [images.dom0, images.bare]);
    writeFileSync(join(dir, 'd.cfg'), [
      'name = "d"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`,
      `memory = ${MEMORY_MIB}`, `disk = [ "format=raw,vdev=xvda,access=rw,target=${images.dom0}" ]`,
    ].join('\n'));
    wallMs([XL, 'create', '-q', 'd.cfg'], env, dir);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    const domid = execFileSync(XL, ['domid', 'd'], { env, encoding: 'utf8' }).trim();
    const dom0 = await ready(await GuestConsole.connect(join(dir, 'run', 'domains', domid, 'console0.tty')));
    consoles.push(dom0);

    // The bare baseline's options: one pass of every case with each set; the fastest in total wins.
    const tried: Record<string, Record<string, number>> = {};
    for (const [name, options] of Object.entries(BARE_OPTIONS)) {
      const g = await bareGuest(guests, images.bare, options, join(dir, `${name}.sock`)).catch((e: unknown) => e as Error);
      if (g instanceof Error) {
        tried[name] = { error: 0 };
        continue;
      }
      children.push(g.child);
      const rates: Record<string, number> = {};
      for (const [c, cmd] of Object.entries(CASES)) rates[c] = await ddRate(g.con, cmd);
      tried[name] = rates;
      g.con.close();
      g.child.kill('SIGKILL');
      await new Promise((r) => g.child.once('exit', r));
    }
    const score = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + Math.log(Math.max(b, 1e-9)), 0);
    const best = Object.entries(tried).filter(([, r]) => !('error' in r)).sort((a, b) => score(b[1]) - score(a[1]))[0]?.[0] ?? 'default';
    const bare = await bareGuest(guests, images.bare, BARE_OPTIONS[best] as string, join(dir, 'bare.sock'));
    children.push(bare.child);
    consoles.push(bare.con);

    const times: Record<string, { dom0: number[]; bare: number[] }> = Object.fromEntries(Object.keys(CASES).map((c) => [c, { dom0: [], bare: [] }]));
    for (let run = 0; run < RUNS; run++) {
      for (const [c, cmd] of Object.entries(CASES)) {
        const t = times[c] as { dom0: number[]; bare: number[] };
        const order = run % 2 === 0 ? ['dom0', 'bare'] as const : ['bare', 'dom0'] as const;
        for (const who of order) t[who].push(await ddRate(who === 'dom0' ? dom0 : bare.con, cmd));
      }
    }
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const results = Object.fromEntries(Object.entries(times).map(([c, t]) => {
      const [d, b] = [median(t.dom0), median(t.bare)];
      return [c, { dom0MBps: r1(d), bareMBps: r1(b), ratio: r2(d / b) }];
    }));
    return {
      bench: 'devices',
      runs: RUNS,
      imageMiB: IMAGE_MIB,
      bareOptionsTried: Object.fromEntries(Object.entries(tried).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([c, x]) => [c, r1(x)]))])),
      bareOptions: BARE_OPTIONS[best],
      disk: results,
      goalRatio: 0.95,
    };
  } finally {
    for (const c of consoles) c.close();
    for (const c of children) c.kill('SIGKILL');
    spawnXl(env, ['destroy', 'd']);
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnXl(env: NodeJS.ProcessEnv, args: readonly string[]): void {
  try {
    execFileSync(XL, args, { env, stdio: 'ignore' });
  } catch {
    // already gone
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await devices()));
}
