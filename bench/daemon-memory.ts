// Benchmark: dom0d's resident memory over many create/destroy cycles (issue goal: ≤ 60 MB after
// 300 cycles, ≤ 0.2 MB per running domain). Each cycle creates a paused PV domain through the API
// (a real QEMU is started, stopped before its first instruction) and destroys it. The baseline is
// the same dom0d's RSS after one warm-up cycle. Prints one JSON object.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiRequest } from '../src/api/index.js';
import { DOMAIN_CONFIG, idlToJson, loadDomainConfig, withAbsolutePaths } from '../src/config/index.js';
import { ensureGuests } from '../test/support/guests.js';
import { benchHost, rssKiB, rssPartsKiB, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const CYCLES = Number(process.env.DOM0_BENCH_CYCLES ?? 300);
const RUNNING = 10;

export async function daemonMemory(cycles = CYCLES): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  writeFileSync(join(dir, 'pv.cfg'), [
    'name = "mem"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 64',
  ].join('\n'));
  const socket = join(dir, 'run', 'api.sock');
  const body = (name: string): unknown => {
    const resolved = loadDomainConfig(join(dir, 'pv.cfg'), { extra: [`name="${name}"`] });
    return { paused: true, config: idlToJson(DOMAIN_CONFIG, withAbsolutePaths(resolved.config, dir)) };
  };
  let dom0d: number | undefined;
  try {
    wallMs([XL, 'list'], env);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    const one = body('mem');
    const cycle = async (): Promise<void> => {
      await apiRequest(socket, 'POST', '/v1/domains', one);
      await apiRequest(socket, 'POST', '/v1/domains/mem/destroy', {});
    };
    await cycle();
    const base = rssKiB(dom0d);
    const samples: Array<{ cycles: number; rssKiB: number }> = [];
    const t0 = performance.now();
    for (let i = 1; i <= cycles; i++) {
      await cycle();
      if (i % 50 === 0 || i === cycles) samples.push({ cycles: i, rssKiB: rssKiB(dom0d) });
    }
    const cycleMs = (performance.now() - t0) / cycles;
    const before = rssKiB(dom0d);
    for (let i = 0; i < RUNNING; i++) await apiRequest(socket, 'POST', '/v1/domains', body(`run${i}`));
    const withRunning = rssKiB(dom0d);
    for (let i = 0; i < RUNNING; i++) await apiRequest(socket, 'POST', `/v1/domains/run${i}/destroy`, {});
    const last = samples.at(-1)?.rssKiB ?? base;
    const parts = rssPartsKiB(dom0d);
    const plainNode = await idleNodeRssKiB();
    return {
      bench: 'daemon-memory',
      cycles,
      cycleMs: Math.round(cycleMs),
      rssBaseMiB: Math.round(base / 102.4) / 10,
      rssAfterCyclesMiB: Math.round(last / 102.4) / 10,
      growthRatio: Math.round((last / base) * 1000) / 1000,
      goalRssAfterCyclesMiB: 60,
      // Of the resident memory at the end: dom0d's own (anonymous) and node's program pages (file).
      rssAnonMiB: Math.round(parts.anon / 102.4) / 10,
      rssFileMiB: Math.round(parts.file / 102.4) / 10,
      // A plain `node` waiting on a timer, in the same run: the floor under any dom0d.
      idleNodeRssMiB: Math.round(plainNode / 102.4) / 10,
      samples,
      rssPerRunningDomainMiB: Math.round(((withRunning - before) / RUNNING) / 10.24) / 100,
      goalRssPerRunningDomainMiB: 0.2,
    };
  } finally {
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The resident memory of a plain node process (the one dom0d runs on) a second after it started, idle. */
async function idleNodeRssKiB(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    return rssKiB(child.pid ?? 0);
  } finally {
    child.kill('SIGKILL');
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await daemonMemory()));
}
