// Benchmark: what dom0d costs while domains idle, and what a `xentop` refresh costs.
// - dom0d's CPU use (utime + stime from /proc, % of one core) over a window with no domain, then
//   with DOMAINS guests booted to their shell and left idle (goal ≤ 1% of one core; libvirtd is
//   the anchor where it is installed — not on this machine: the baseline is the same dom0d idle
//   with no domain, measured in the same run);
// - a `domainStats` API call (xentop's refresh) with no domain and with DOMAINS: per domain, ms.
// Prints one JSON object.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiRequest } from '../src/api/index.js';
import { ensureGuests, GUEST_READY_LINE } from '../test/support/guests.js';
import { benchHost, consoleText, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const DOMAINS = Number(process.env.DOM0_BENCH_DOMAINS ?? 20);
const WINDOW_S = Number(process.env.DOM0_BENCH_WINDOW_S ?? 30);
const TICK_NS = 1e9 / 100;

function cpuNs(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(rest[11]) + Number(rest[12])) * TICK_NS;
}

/** dom0d's CPU use over `seconds`, % of one core. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const c0 = cpuNs(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return ((cpuNs(pid) - c0) / 1e6 / (performance.now() - t0)) * 100;
}

async function statsMs(socket: string, runs = 10): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await apiRequest(socket, 'GET', '/v1/stats');
    t.push(performance.now() - t0);
  }
  return median(t);
}

export async function idle(): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  const socket = join(dir, 'run', 'api.sock');
  let dom0d: number | undefined;
  try {
    wallMs([XL, 'list'], env);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    await new Promise((r) => setTimeout(r, 3000));
    const statsNone = await statsMs(socket);
    const cpuNone = await cpuPercent(dom0d, WINDOW_S);
    for (let i = 0; i < DOMAINS; i++) {
      writeFileSync(join(dir, `g${i}.cfg`), [
        `name = "g${i}"`, `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
      ].join('\n'));
      wallMs([XL, 'create', '-q', `g${i}.cfg`], env, dir);
    }
    const t0 = performance.now();
    for (let i = 0; i < DOMAINS; i++) {
      for (;;) {
        if (consoleText(dir, `g${i}`).includes(GUEST_READY_LINE)) break;
        if (performance.now() - t0 > 600_000) throw new Error(`idle: g${i} never became ready`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const bootAllS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    const cpuIdle = await cpuPercent(dom0d, WINDOW_S);
    const statsAll = await statsMs(socket);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'idle',
      domains: DOMAINS,
      windowS: WINDOW_S,
      bootAllToReadyS: r2(bootAllS),
      dom0dCpuPctNoDomain: r2(cpuNone),
      dom0dCpuPctIdleDomains: r2(cpuIdle),
      goalDom0dCpuPct: 1,
      libvirtd: spawnSync('sh', ['-c', 'command -v libvirtd']).status === 0 ? 'installed: not measured by this bench yet' : 'not installed',
      statsCallMsNoDomain: r2(statsNone),
      statsCallMsAll: r2(statsAll),
      statsCallMsPerDomain: r2((statsAll - statsNone) / DOMAINS),
    };
  } finally {
    const list = spawnSync(XL, ['list', '--json'], { env, encoding: 'utf8' });
    for (const d of (JSON.parse(list.stdout || '[]') as Array<{ domid: number }>).filter((x) => x.domid !== 0)) spawnSync(XL, ['destroy', String(d.domid)], { env });
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await idle()));
}
