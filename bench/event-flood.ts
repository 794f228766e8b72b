// Benchmark: what a guest flooding its QEMU's event stream costs dom0d. The guest writes
// pvpanic's port FLOOD times (test/support/port-flood.c): one GUEST_CRASHLOADED event each, which
// QEMU does not rate limit. Measured: dom0d's CPU time per event and as % of one core over the
// flood (goal ≤ 10%; 10 µs an event and ~60% before dom0d dropped unwanted events unparsed and
// read a flooding socket in large reads), and `xl list` meanwhile beside `xl list` while the same
// guest spins in a shell loop. That ratio is mostly QEMU's own: its main thread takes a second
// core to emit the events, so every other process on a 2-core host shares one. Prints one JSON
// object.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildGuestProgram } from '../test/support/guest-programs.js';
import { ensureGuests, GUEST_READY_LINE } from '../test/support/guests.js';
import { benchHost, consoleText, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const FLOOD = Number(process.env.DOM0_BENCH_FLOOD ?? 300_000);

function cpuMs(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

async function typeOn(env: NodeJS.ProcessEnv, name: string, line: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(XL, ['console', name], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', () => resolve());
    child.stdin.write(`${line}\r`);
    setTimeout(() => child.stdin.end(), 500);
  });
}

async function until(what: string, probe: () => boolean, timeoutMs = 300_000): Promise<void> {
  for (const t0 = performance.now(); !probe();) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`event-flood bench: ${what} timed out`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function eventFlood(): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  let dom0d: number | undefined;
  try {
    const program = readFileSync(buildGuestProgram(dir, 'port-flood'));
    const image = join(dir, 'port-flood.img');
    writeFileSync(image, Buffer.concat([program, Buffer.alloc((1 << 20) - (program.length % (1 << 20)))]));
    writeFileSync(join(dir, 'flood.cfg'), [
      'name = "flood"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
      `disk = ["format=raw,vdev=xvda,access=ro,target=${image}"]`,
    ].join('\n'));
    wallMs([XL, 'create', '-q', 'flood.cfg'], env, dir);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    await until('boot', () => consoleText(dir, 'flood').includes(GUEST_READY_LINE));
    await typeOn(env, 'flood', 'dd if=/dev/vda of=/run/pf bs=1M 2>/dev/null; chmod +x /run/pf');
    // The baseline: the guest busy in a shell loop, as many `xl list` runs as the flood gets.
    await typeOn(env, 'flood', 'while :; do :; done & echo $! > /run/spin.pid');
    await new Promise((r) => setTimeout(r, 1000));
    const spinning: number[] = [];
    for (let i = 0; i < 15; i++) spinning.push(wallMs([XL, 'list'], env));
    await typeOn(env, 'flood', 'kill $(cat /run/spin.pid)');
    const done = `port-flood done ${String(FLOOD)}`;
    const c0 = cpuMs(dom0d);
    const t0 = performance.now();
    await typeOn(env, 'flood', `/run/pf 0x505 2 ${String(FLOOD)}`);
    const flooding: number[] = [];
    while (!consoleText(dir, 'flood').includes(done)) {
      flooding.push(wallMs([XL, 'list'], env));
      if (performance.now() - t0 > 600_000) throw new Error('event-flood bench: the flood did not end');
    }
    const wallS = (performance.now() - t0) / 1000;
    const dom0dMs = cpuMs(dom0d) - c0;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'event-flood',
      events: FLOOD,
      floodWallS: r2(wallS),
      eventsPerS: Math.round(FLOOD / wallS),
      dom0dCpuMs: dom0dMs,
      dom0dCpuUsPerEvent: r2((dom0dMs * 1000) / FLOOD),
      dom0dCpuPct: r2(dom0dMs / 10 / wallS),
      xlListSpinningMs: r2(median(spinning)),
      xlListFloodingMs: r2(median(flooding)),
      xlListRatio: r2(median(flooding) / median(spinning)),
      goalDom0dCpuPct: 10,
    };
  } finally {
    spawnSync(XL, ['destroy', 'flood'], { env, stdio: 'ignore' });
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await eventFlood()));
}
