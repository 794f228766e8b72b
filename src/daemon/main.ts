import { homedir } from 'node:os';
import { AUTOSTARTED, DOM0D_ENV } from '../api/index.js';
import { refuseDebuggerSignal, resolvePaths, restoreLaunchEnv, toDaemonEnv } from '../common/index.js';
import { ensurePrivateDir } from '../host/index.js';
import { rotateToken } from './api-tcp.js';
import { DOM0D_RUN_USAGE, runDom0d } from './dom0d.js';
import { XENSTORED_USAGE, xenstoredMain } from './xenstored.js';

const ROTATE_USAGE = 'dom0d rotate-token\n              replace the API\'s bearer token (STATE_DIR/api-token); a running dom0d\n              takes the new one at its next request\n\n';

/**
 * `dom0d [SUBCOMMAND] [options]`: the host daemon. Subcommands are added as the daemon grows
 * (`xenstored` runs the xenstore server alone in the foreground). Returns the exit status.
 */
export function dom0dMain(argv: readonly string[]): Promise<number> {
  restoreLaunchEnv(process.env);
  refuseDebuggerSignal(process);
  const sub = argv[0];
  if (sub === undefined || sub === 'run') {
    // Node's options as dom0d was started with, before its environment is a daemon's (`runDom0d` closes an inspector they opened).
    const inspecting = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) => a.includes('--inspect'));
    const autostarted = process.env[AUTOSTARTED] === '1';
    return runDom0d(toDaemonEnv(dropOwnEnv(process.env)), { inspecting, autostarted });
  }
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(`Usage: dom0d [run | help | rotate-token | xenstored ...]\n\n${DOM0D_RUN_USAGE}${ROTATE_USAGE}${XENSTORED_USAGE}`);
    return Promise.resolve(0);
  }
  if (sub === 'rotate-token') {
    const paths = resolvePaths(process.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: process.cwd() });
    ensurePrivateDir(paths.stateDir);
    const file = `${paths.stateDir}/api-token`;
    rotateToken(file);
    process.stdout.write(`a new API token is in ${file}: the old one is refused from now on\n`);
    return Promise.resolve(0);
  }
  if (sub === 'xenstored') return xenstoredMain(argv.slice(1));
  process.stderr.write(`dom0d: unknown subcommand '${sub}'\nhint: run 'dom0d help'\n`);
  return Promise.resolve(2);
}

/**
 * The environment without what dom0d's launchers set for dom0d's own process (`DOM0D_ENV`), so
 * that the QEMUs and scripts it runs start as they would from the user's shell. Takes them out of
 * `env` itself: children spawned without an explicit environment inherit `process.env`.
 */
function dropOwnEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const [name, value] of Object.entries(DOM0D_ENV)) if (env[name] === value) delete env[name];
  return env;
}

