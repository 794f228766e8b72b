// Benchmark: cold-start wall time of `bin/xl help` and `bin/xl -N create FILE`, each as a ratio to
// `node -e 0` measured in the same run (interleaved, medians of RUNS each). Goal: ratio <= 1.5.
// Prints one JSON object. Needs a build (`npm run build`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 20);

function wallMs(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`cold-start: ${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function coldStart(runs = RUNS): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-bench-'));
  try {
    const cfg = join(dir, 'guest.cfg');
    writeFileSync(cfg, [
      'name = "bench"', 'kernel = "/boot/vmlinuz"', 'memory = 512', 'vcpus = 2',
      'vif = [ "bridge=xenbr0" ]', 'disk = [ "/srv/bench.img,raw,xvda,rw" ]', '',
    ].join('\n'));
    const env = { ...process.env, DOM0_CONFIG_DIR: join(dir, 'etc') };
    const xl = join(ROOT, 'bin', 'xl');
    const cases = {
      baseline: ['-e', '0'],
      help: [xl, 'help'],
      dryRunCreate: [xl, '-N', 'create', '-q', cfg],
    } as const;
    const times: Record<keyof typeof cases, number[]> = { baseline: [], help: [], dryRunCreate: [] };
    for (const argv of Object.values(cases)) wallMs(argv, env);
    for (let i = 0; i < runs; i++) {
      for (const [k, argv] of Object.entries(cases)) times[k as keyof typeof cases].push(wallMs(argv, env));
    }
    const base = median(times.baseline);
    const round = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'cold-start',
      runs,
      baselineMs: round(base),
      helpMs: round(median(times.help)),
      dryRunCreateMs: round(median(times.dryRunCreate)),
      helpRatio: round(median(times.help) / base),
      dryRunCreateRatio: round(median(times.dryRunCreate) / base),
      goalRatio: 1.5,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(coldStart()));
}
