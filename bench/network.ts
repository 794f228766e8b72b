// Benchmark: guest-to-guest TCP throughput over a bridge under dom0 against bare QEMU (issue 9),
// in a network namespace the bench makes (bridge xenbr0):
// - dom0: two PV guests with `vif = [ "bridge=xenbr0" ]` (a tap per vif, plugged by dom0);
// - bare: the same kernel and initrd on two bare QEMUs, each with `-netdev tap` on a tap the
//   bench made on the same bridge and virtio-net (QEMU's default NIC options otherwise);
// - in the guests: busybox `nc` from one to the other, MBYTES of zeros, timed in the sender by
//   /proc/uptime; MB/s, medians of RUNS, the pairs alternated (goal: dom0 ÷ bare ≥ 0.95).
// Prints one JSON object.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../test/support/guests.js';
import { benchHost, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 5);
const MBYTES = Number(process.env.DOM0_BENCH_MBYTES ?? 64);
const NS = `dom0-bench-${process.pid}`;
const MEMORY_MIB = 128;

const inNs = (...argv: string[]): string => execFileSync('ip', ['netns', 'exec', NS, ...argv], { encoding: 'utf8' });

async function ready(con: GuestConsole): Promise<GuestConsole> {
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 180_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  return con;
}

async function up(con: GuestConsole, address: string): Promise<void> {
  const r = await con.run(`ip addr add ${address}/24 dev eth0 && ip link set eth0 up`);
  if (r.rc !== 0) throw new Error(`network: ${address}: ${r.out}`);
}

/** MB/s of `MBYTES` sent from `from` to `to` (listening at `toAddress`) over TCP. */
async function transfer(from: GuestConsole, to: GuestConsole, toAddress: string): Promise<number> {
  // The listener's stdin never ends: busybox nc half-closes at its stdin's end, and the sender
  // stops at its peer's half-close.
  await to.run('rm -f /tmp/got; (sleep 600 | nc -l -p 5001 | wc -c > /tmp/got) & true');
  await new Promise((r) => setTimeout(r, 300));
  const r = await from.run(`a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero bs=1M count=${MBYTES} 2>/dev/null | nc ${toAddress} 5001 && ` +
    `b=$(cut -d' ' -f1 /proc/uptime) && echo "T $a $b"`, 300_000);
  const got = await to.run('i=0; while [ ! -s /tmp/got ] && [ $i -lt 100 ]; do usleep 50000; i=$((i+1)); done; cat /tmp/got; killall sleep >/dev/null 2>&1; true');
  const m = /T ([\d.]+) ([\d.]+)/.exec(r.out);
  // (the shell may report the killed sleep's job around it)
  if (r.rc !== 0 || m === null || /^(\d+)\r?$/m.exec(got.out)?.[1] !== String(MBYTES * (1 << 20))) throw new Error(`network: transfer to ${toAddress}: ${r.out} (received: ${got.out.trim()})`);
  return (MBYTES * (1 << 20)) / 1e6 / Math.max(Number(m[2]) - Number(m[1]), 0.01);
}

export async function network(): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  let dom0d: number | undefined;
  const children: ChildProcess[] = [];
  const consoles: GuestConsole[] = [];
  execFileSync('ip', ['netns', 'add', NS]);
  try {
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'link', 'add', 'xenbr0', 'type', 'bridge');
    inNs('ip', 'link', 'set', 'xenbr0', 'up');
    const xl = (...args: string[]): string[] => ['ip', 'netns', 'exec', NS, XL, ...args];
    const dom0: GuestConsole[] = [];
    for (const name of ['a', 'b']) {
      writeFileSync(join(dir, `${name}.cfg`), [
        `name = "${name}"`, `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`,
        `memory = ${MEMORY_MIB}`, 'vif = [ "bridge=xenbr0" ]',
      ].join('\n'));
      wallMs(xl('create', '-q', `${name}.cfg`), env, dir);
      const domid = execFileSync('ip', ['netns', 'exec', NS, XL, 'domid', name], { env, encoding: 'utf8' }).trim();
      const con = await ready(await GuestConsole.connect(join(dir, 'run', 'domains', domid, 'console0.tty')));
      consoles.push(con);
      dom0.push(con);
    }
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);

    const cmdline = guests.pvCmdline.replace('console=hvc0', '').trim();
    const bare: GuestConsole[] = [];
    for (const [i, mac] of ['52:54:00:00:be:01', '52:54:00:00:be:02'].entries()) {
      const tap = `tb${i}`;
      inNs('ip', 'tuntap', 'add', tap, 'mode', 'tap');
      inNs('ip', 'link', 'set', tap, 'master', 'xenbr0', 'up');
      const sock = join(dir, `bare${i}.sock`);
      const child = spawn('ip', ['netns', 'exec', NS, 'qemu-system-x86_64',
        '-kernel', guests.vmlinuz, '-initrd', guests.initrd, '-append', `console=ttyS0 ${cmdline}`, '-m', String(MEMORY_MIB),
        '-display', 'none', '-serial', `unix:${sock},server=on,wait=off`,
        '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n0,mac=${mac}`,
      ], { stdio: 'ignore' });
      children.push(child);
      let con: GuestConsole | undefined;
      for (let t = 0; t < 100 && con === undefined; t++) {
        con = await GuestConsole.connect(sock, 200).catch(() => undefined);
        if (child.exitCode !== null) throw new Error(`network: bare QEMU exited ${child.exitCode}`);
      }
      if (con === undefined) throw new Error('network: bare QEMU\'s console never came up');
      consoles.push(con);
      bare.push(await ready(con));
    }
    const [a, b] = dom0 as [GuestConsole, GuestConsole];
    const [c, d] = bare as [GuestConsole, GuestConsole];
    await up(a, '10.9.0.1');
    await up(b, '10.9.0.2');
    await up(c, '10.9.0.11');
    await up(d, '10.9.0.12');
    const rates = { dom0: [] as number[], bare: [] as number[] };
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? ['dom0', 'bare'] as const : ['bare', 'dom0'] as const;
      for (const who of order) rates[who].push(who === 'dom0' ? await transfer(a, b, '10.9.0.2') : await transfer(c, d, '10.9.0.12'));
    }
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const [dm, bm] = [median(rates.dom0), median(rates.bare)];
    return {
      bench: 'network',
      runs: RUNS,
      mbytes: MBYTES,
      dom0MBps: r1(dm),
      bareMBps: r1(bm),
      ratio: Math.round((dm / bm) * 100) / 100,
      goalRatio: 0.95,
    };
  } finally {
    for (const c of consoles) c.close();
    for (const c of children) c.kill('SIGKILL');
    for (const name of ['a', 'b']) {
      try {
        execFileSync('ip', ['netns', 'exec', NS, XL, 'destroy', name], { env, stdio: 'ignore' });
      } catch {
        // not created
      }
    }
    if (dom0d !== undefined) await stopDaemon(dom0d);
    await new Promise((r) => setTimeout(r, 500));
    execFileSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await network()));
}
