// Benchmark: domains on real QEMU (TCG) through `bin/xl` and an autostarted dom0d, each figure
// with its baseline from the same run (interleaved, medians of RUNS):
// - boot: `xl create` → the guest's readiness line in its console log, as a ratio to a bare
//   `qemu-system-x86_64` run with the very argv dom0d gave QEMU (minus `-S`, paths moved to a
//   temp dir) → the same line (goal ≤ 1.05);
// - `xl create` wall time until it returns with the guest running (goal ≤ 0.15 s, issue 8) and `xl destroy`
//   until the domain is gone (goal ≤ 0.15 s), beside `xl list` (one API round trip) and `node -e 0`
//   (started as xl's Node is: NODE_BASELINE);
// - the same create and destroy as dom0d serves them (API calls, no xl process), beside an API
//   round trip (`GET /v1/daemon`): what dom0d itself adds;
// - dom0d's resident memory at rest and per running domain (slope over PAUSED paused domains).
// Prints one JSON object.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiRequest } from '../src/api/index.js';
import { DOMAIN_CONFIG, idlToJson, loadDomainConfig, withAbsolutePaths } from '../src/config/index.js';
import { ensureGuests, GUEST_READY_LINE } from '../test/support/guests.js';
import { bareArgv, benchHost, median, NODE_BASELINE, rssKiB, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 3);
const PAUSED = 4;

/** The length of `file` now (0 when missing): where the next domain's output will start. */
function sizeOf(file: string): number {
  try {
    return readFileSync(file).length;
  } catch {
    return 0;
  }
}

/** Resolves with the ms (since `t0`) at which `file` first contains `text` after byte `from`. */
async function waitForText(file: string, text: string, t0: number, from = 0, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    let content = '';
    try {
      content = readFileSync(file).subarray(from).toString('utf8');
    } catch {
      // not there yet
    }
    if (content.includes(text)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`domain-lifecycle: '${text}' never appeared in ${file}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function listJson(env: NodeJS.ProcessEnv): { domid: number; name: string }[] {
  const r = spawnSync(XL, ['list', '--json'], { env, encoding: 'utf8' });
  return JSON.parse(r.stdout) as { domid: number; name: string }[];
}

export async function domainLifecycle(runs = RUNS): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  writeFileSync(join(dir, 'pv.cfg'), [
    'name = "bench"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
  ].join('\n'));
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  // dom0d's log of the console (successive domains of the name append to it).
  const consoleLog = join(dir, 'log', 'console', 'bench', 'console0.log');
  const t = {
    xlBoot: [] as number[], bareBoot: [] as number[], create: [] as number[], destroy: [] as number[], list: [] as number[], node: [] as number[],
    apiCreate: [] as number[], apiDestroy: [] as number[], apiRoundTrip: [] as number[],
  };
  const socket = join(dir, 'run', 'api.sock');
  const resolved = loadDomainConfig(join(dir, 'pv.cfg'), { extra: ['name="api"'] });
  const createBody = { paused: true, config: idlToJson(DOMAIN_CONFIG, withAbsolutePaths(resolved.config, dir)) };
  const timed = async (into: number[], f: () => Promise<unknown>): Promise<void> => {
    const t0 = performance.now();
    await f();
    into.push(performance.now() - t0);
  };
  let dom0d: number | undefined;
  const bareQemus: number[] = [];
  try {
    wallMs([XL, 'list'], env);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    // Warm-up (QEMU capabilities and the accelerator probe are cached on disk), and the argv.
    wallMs([XL, 'create', '-q', 'pv.cfg'], env, dir);
    await waitForText(consoleLog, GUEST_READY_LINE, performance.now());
    const domid = listJson(env).find((d) => d.name === 'bench')?.domid as number;
    const qemuPid = Number.parseInt(readFileSync(join(dir, 'run', 'domains', String(domid), 'qemu.pid'), 'utf8'), 10);
    const argv = bareArgv(readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0'), bare);
    wallMs([XL, 'destroy', 'bench'], env);
    // RSS is read once dom0d's heap trim (every 2 s) has run, so the slope is what stays per domain.
    const daemonPid = dom0d;
    const settledRss = async (): Promise<number> => {
      await new Promise((r) => setTimeout(r, 2500));
      return rssKiB(daemonPid);
    };
    const rssBase = await settledRss();
    for (let i = 0; i < runs; i++) {
      rmSync(join(bare, 'console0.log'), { force: true });
      const t0 = performance.now();
      const q = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
      bareQemus.push(q.pid as number);
      t.bareBoot.push(await waitForText(join(bare, 'console0.log'), GUEST_READY_LINE, t0));
      q.kill('SIGKILL');

      const from = sizeOf(consoleLog);
      const t1 = performance.now();
      t.create.push(wallMs([XL, 'create', '-q', 'pv.cfg'], env, dir));
      t.xlBoot.push(await waitForText(consoleLog, GUEST_READY_LINE, t1, from));
      t.list.push(wallMs([XL, 'list'], env));
      t.node.push(wallMs(NODE_BASELINE, env));
      t.destroy.push(wallMs([XL, 'destroy', 'bench'], env));
      if (listJson(env).some((d) => d.name === 'bench')) throw new Error('domain-lifecycle: xl destroy returned before the domain was gone');
      await timed(t.apiRoundTrip, () => apiRequest(socket, 'GET', '/v1/daemon'));
      await timed(t.apiCreate, () => apiRequest(socket, 'POST', '/v1/domains', createBody));
      await timed(t.apiDestroy, () => apiRequest(socket, 'POST', '/v1/domains/api/destroy', {}));
    }
    for (let i = 0; i < PAUSED; i++) wallMs([XL, 'create', '-q', '-p', 'pv.cfg', `name="paused${i}"`], env, dir);
    const rssWith = await settledRss();
    for (let i = 0; i < PAUSED; i++) wallMs([XL, 'destroy', `paused${i}`], env);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      bench: 'domain-lifecycle',
      runs,
      guest: 'pv (direct kernel boot, 128 MiB, TCG)',
      bootToReadyMs: r2(median(t.xlBoot)),
      bareQemuBootToReadyMs: r2(median(t.bareBoot)),
      bootRatio: r3(median(t.xlBoot) / median(t.bareBoot)),
      goalBootRatio: 1.05,
      createWallS: r3(median(t.create) / 1000),
      goalCreateWallS: 0.15,
      destroyWallS: r3(median(t.destroy) / 1000),
      goalDestroyWallS: 0.15,
      xlListWallS: r3(median(t.list) / 1000),
      apiCreatePausedMs: r2(median(t.apiCreate)),
      apiDestroyMs: r2(median(t.apiDestroy)),
      apiRoundTripMs: r2(median(t.apiRoundTrip)),
      nodeStartWallS: r3(median(t.node) / 1000),
      dom0dRssBaseKiB: rssBase,
      dom0dRssPerDomainKiB: r2((rssWith - rssBase) / PAUSED),
    };
  } finally {
    for (const pid of bareQemus) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const d of listJson(env).filter((x) => x.domid !== 0)) spawnSync(XL, ['destroy', String(d.domid)], { env });
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await domainLifecycle()));
}
