// Runs every dist/**/*.test.js with Node's test runner. Arguments filter by substring of the path
// (`node scripts/run-tests.mjs xenstore`). DOM0_TEST_SKIP_SLOW=1 skips test/integration.
import { readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
let files = walk(join(root, 'dist'), []).filter((f) => !f.includes(`${join('dist', 'bin')}`)).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (process.env.DOM0_TEST_SKIP_SLOW === '1') files = files.filter((f) => !f.includes('/integration/'));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
console.error(`run-tests: ${files.length} files`);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
