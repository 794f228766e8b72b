// Benchmark: cold-start wall time of `bin/xl help` and `bin/xl -N create FILE` (run as a user
// runs them), each as a ratio to `node -e 0` started as xl's Node is (NODE_BASELINE) measured in the same run (interleaved, medians of
// RUNS each). Goal: ratio <= 1.5. Prints one JSON object. Needs a build (`npm run build`).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchHost, interleavedMedians, NODE_AS_IS, NODE_BASELINE } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 20);

export function coldStart(runs = RUNS): Record<string, unknown> {
  const { dir, env } = benchHost();
  try {
    const cfg = join(dir, 'guest.cfg');
    writeFileSync(cfg, [
      'name = "bench"', 'kernel = "/boot/vmlinuz"', 'memory = 512', 'vcpus = 2',
      'vif = [ "bridge=xenbr0" ]', 'disk = [ "/srv/bench.img,raw,xvda,rw" ]', '',
    ].join('\n'));
    const xl = join(ROOT, 'bin', 'xl');
    const ms = interleavedMedians({
      baseline: NODE_BASELINE,
      nodeAsIs: NODE_AS_IS,
      help: [xl, 'help'],
      dryRunCreate: [xl, '-N', 'create', '-q', cfg],
    }, runs, env);
    const round = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'cold-start',
      runs,
      baselineMs: round(ms.baseline),
      nodeAsIsMs: round(ms.nodeAsIs),
      helpMs: round(ms.help),
      dryRunCreateMs: round(ms.dryRunCreate),
      helpRatio: round(ms.help / ms.baseline),
      dryRunCreateRatio: round(ms.dryRunCreate / ms.baseline),
      goalRatio: 1.5,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(coldStart()));
}
