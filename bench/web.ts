// Benchmark: the web console's first render with 20 domains in headless Chromium (issue 12):
// from the navigation's start to the last domain's row in the page (the browser's own clock,
// performance.now() in the page), median of RUNS fresh page loads (goal ≤ 300 ms). The domains
// are records without machines (DOM0_TEST_API's registerDomain): the page's cost, not QEMU's.
// Prints one JSON object.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { apiRequest } from '../src/api/index.js';
import { benchHost, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const DOMAINS = 20;
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 10);

export async function web(): Promise<Record<string, unknown>> {
  const { dir, env } = benchHost({ DOM0_API_LISTEN: '127.0.0.1:0', DOM0_TEST_API: '1' });
  let dom0d: number | undefined;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    wallMs([XL, 'list'], env);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    const socket = join(dir, 'run', 'api.sock');
    for (let i = 0; i < DOMAINS; i++) {
      await apiRequest(socket, 'POST', '/v1/test/domains', { config: { c_info: { name: `w${i}`, type: 'pv' }, b_info: { max_memkb: 262144, target_memkb: 262144, max_vcpus: 1 } } });
    }
    const url = readFileSync(join(dir, 'run', 'api.url'), 'utf8').trim();
    const token = readFileSync(join(dir, 'state', 'api-token'), 'utf8').trim();
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${url}/#token=${token}`, { waitUntil: 'commit' });
      await page.waitForFunction((n) => document.querySelectorAll('#domains tr').length >= n, DOMAINS + 1, { polling: 'raf' });
      const ms = await page.evaluate(() => performance.now());
      if (i > 0) times.push(ms);
      await context.close();
    }
    return {
      bench: 'web',
      domains: DOMAINS,
      runs: RUNS,
      firstRenderMs: Math.round(median(times)),
      goalMs: 300,
    };
  } finally {
    await browser.close();
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await web()));
}
