import { restoreLaunchEnv } from '../common/index.js';
import { xlMain } from './main.js';

restoreLaunchEnv(process.env);

// No top-level await: the bundle is CommonJS (scripts/build.mjs).
void xlMain(process.argv.slice(2), {
  // Node creates process.stdin on first use, a stream xl reads only in `console`.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
}).then((status) => {
  process.exitCode = status;
});
