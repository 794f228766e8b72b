// Benchmark: `bin/xl list` (run as a user runs it) against a running dom0d holding 20 domain
// records, as a ratio to `node -e 0` started as xl's Node is (NODE_BASELINE) measured in the same
// run (interleaved, medians of RUNS each; goal <= 1.15; `node -e 0` as the environment has it
// beside), and dom0d's resident memory: at rest with no domains, and per domain
// record (slope over 500 more). Records are bookkeeping-only (dom0d's test route), no QEMU.
// Prints one JSON object.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiRequest } from '../src/api/index.js';
import { benchHost, interleavedMedians, NODE_AS_IS, NODE_BASELINE, rssKiB, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 20);
const DOMAINS = 20;
const EXTRA = 500;

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

async function register(socket: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    await apiRequest(socket, 'POST', '/v1/test/domains', {
      config: { c_info: { type: 'pv', name: `bench-${i}` }, b_info: { max_vcpus: 2, max_memkb: 524288, target_memkb: 524288 } },
    });
  }
}

export async function xlList(runs = RUNS): Promise<Record<string, unknown>> {
  const { dir, env } = benchHost({ DOM0_TEST_API: '1' });
  const socket = join(dir, 'run', 'api.sock');
  const xl = join(ROOT, 'bin', 'xl');
  let pid: number | undefined;
  try {
    wallMs([xl, 'list'], env);
    pid = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    await settle();
    const rssBase = rssKiB(pid);
    await register(socket, 0, DOMAINS);
    const ms = interleavedMedians({ baseline: NODE_BASELINE, nodeAsIs: NODE_AS_IS, list: [xl, 'list'] }, runs, env);
    await settle();
    const rssAt20 = rssKiB(pid);
    await register(socket, DOMAINS, EXTRA);
    await settle();
    const rssAtMore = rssKiB(pid);
    const round = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'xl-list',
      runs,
      domains: DOMAINS,
      baselineMs: round(ms.baseline),
      nodeAsIsMs: round(ms.nodeAsIs),
      listMs: round(ms.list),
      listRatio: round(ms.list / ms.baseline),
      goalRatio: 1.15,
      dom0dRssBaseKiB: rssBase,
      dom0dRssWith20KiB: rssAt20,
      dom0dRssPerRecordKiB: round((rssAtMore - rssAt20) / EXTRA),
    };
  } finally {
    if (pid !== undefined) await stopDaemon(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await xlList()));
}
