import { DOM0D_RUN_USAGE, runDom0d } from './dom0d.js';
import { XENSTORED_USAGE, xenstoredMain } from './xenstored.js';

/**
 * `dom0d [SUBCOMMAND] [options]`: the host daemon. Subcommands are added as the daemon grows
 * (`xenstored` runs the xenstore server alone in the foreground). Returns the exit status.
 */
export function dom0dMain(argv: readonly string[]): Promise<number> {
  const sub = argv[0];
  if (sub === undefined || sub === 'run') return runDom0d(process.env);
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(`Usage: dom0d [run | help | xenstored ...]\n\n${DOM0D_RUN_USAGE}${XENSTORED_USAGE}`);
    return Promise.resolve(0);
  }
  if (sub === 'xenstored') return xenstoredMain(argv.slice(1));
  process.stderr.write(`dom0d: unknown subcommand '${sub}'\nhint: run 'dom0d help'\n`);
  return Promise.resolve(2);
}
