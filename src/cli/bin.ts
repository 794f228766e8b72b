import { refuseDebuggerSignal, restoreLaunchEnv, takeIgnoredSignals } from '../common/index.js';
import { ignoreAtLaunch } from './interrupt.js';
import { xlMain } from './main.js';

restoreLaunchEnv(process.env);
refuseDebuggerSignal(process);
ignoreAtLaunch(takeIgnoredSignals(process.env));

// Standard output closed by its reader (`xl list | head -1`): xl ends silently, as a C program
// killed by SIGPIPE does (status 128 + 13); any other failure to write it (a full disk) is one
// line. A failing standard error has nowhere to be reported.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
  process.stderr.write(`xl: cannot write standard output: ${e.message}\n`);
  process.exit(1);
});
process.stderr.on('error', () => undefined);

/** The working directory; when it has been removed, the shell's name for it (relative paths then fail as missing). */
function workingDirectory(): string {
  try {
    return process.cwd();
  } catch {
    return process.env['PWD'] ?? '/';
  }
}

// No top-level await: the bundle is CommonJS (scripts/build.mjs).
void xlMain(process.argv.slice(2), {
  // Node creates process.stdin on first use, a stream xl reads only in `console`.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: workingDirectory(),
}).then((status) => {
  process.exitCode = status;
});
