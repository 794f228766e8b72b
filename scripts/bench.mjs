// Runs every benchmark in dist/bench/ (or those whose name contains an argument) one after the
// other, each printing one JSON object, and writes them together to bench/results/<time>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { root, filesEndingWith } from './lib.mjs';

const filters = process.argv.slice(2);
const benches = filesEndingWith(join(root, 'dist', 'bench'), '.js')
  .filter((f) => basename(f) !== 'support.js' && !f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => basename(f).includes(x)))
  .sort();
const results = {};
let failed = 0;
for (const f of benches) {
  const name = basename(f, '.js');
  console.error(`bench: ${name}`);
  const r = spawnSync(process.execPath, [f], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    results[name] = JSON.parse(r.stdout);
  } catch {
    failed++;
    results[name] = { error: `exit ${r.status}`, stdout: r.stdout.slice(-2000) };
  }
}
const out = { date: new Date().toISOString(), results };
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', `${out.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out, null, 2));
console.error(`bench: results in ${file}`);
process.exit(failed === 0 ? 0 : 1);
