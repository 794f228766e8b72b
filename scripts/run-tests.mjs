// Runs every dist/**/*.test.js with Node's test runner. Arguments filter by substring of the path
// (`node scripts/run-tests.mjs xenstore`). DOM0_TEST_SKIP_SLOW=1 skips test/integration.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { root, filesEndingWith } from './lib.mjs';

const filters = process.argv.slice(2);
// Only tests whose source still exists: dist/ may hold the output of a file since removed.
let files = filesEndingWith(join(root, 'dist'), '.test.js')
  .filter((f) => existsSync(join(root, relative(join(root, 'dist'), f)).replace(/\.js$/, '.ts')))
  .sort();
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
