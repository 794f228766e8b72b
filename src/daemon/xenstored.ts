/**
 * `dom0d xenstored`: the xenstore server alone, in the foreground, until SIGTERM or SIGINT.
 * Paths default to the run and state directories of the design (`$DOM0_RUN_DIR/xenstored/socket`,
 * `$DOM0_STATE_DIR/xenstore`; `/run/dom0`, `/var/lib/dom0` as root).
 */
import { join } from 'node:path';
import { ToolstackError, usageError } from '../common/index.js';
import type { QuotaName } from '../xenstore/index.js';
import { parseQuotaSetting, startXenstored } from '../xenstore/index.js';

export const XENSTORED_USAGE = `Usage: dom0d xenstored [options]

Runs dom0's xenstored in the foreground (Xen's wire protocol; point Xen's xenstore-* clients at
it with XENSTORED_PATH=<socket>).

Options:
  --socket PATH             privileged socket (default $DOM0_RUN_DIR/xenstored/socket)
  --state-dir DIR           journal and snapshot (default $DOM0_STATE_DIR/xenstore)
  --domain-socket-dir DIR   where domain-<domid>.sock sockets go (default: the socket's directory)
  -Q, --quota WHAT=NB       quota for unprivileged domains (nodes, watches, outstanding,
                            transactions, transaction-nodes, node-permissions, path-max,
                            node-size, memory); 0 disables the check; repeatable
  -K, --keep-orphans        keep nodes owned by a released domain
  -v, --verbose             log every request to stderr
`;

interface XenstoredArgs {
  socket?: string;
  stateDir?: string;
  domainSocketDir?: string;
  quotas: Partial<Record<QuotaName, number>>;
  keepOrphans: boolean;
  verbose: boolean;
}

function parseArgs(argv: readonly string[]): XenstoredArgs {
  const out: XenstoredArgs = { quotas: {}, keepOrphans: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw usageError(`Option '${flag}' needs a value`);
      return v;
    };
    switch (flag) {
      case '--socket': out.socket = value(); break;
      case '--state-dir': out.stateDir = value(); break;
      case '--domain-socket-dir': out.domainSocketDir = value(); break;
      case '-Q':
      case '--quota': {
        const v = value();
        const q = parseQuotaSetting(v);
        if (q === undefined) throw usageError(`Bad quota '${v}'`, "expected WHAT=NB, e.g. 'nodes=2000'");
        out.quotas[q.name] = q.value;
        break;
      }
      case '-K':
      case '--keep-orphans': out.keepOrphans = true; break;
      case '-v':
      case '--verbose': out.verbose = true; break;
      default: throw usageError(`Unknown option '${a}'`, "run 'dom0d help'");
    }
  }
  return out;
}

function defaultDir(envName: string, rootDefault: string, env: NodeJS.ProcessEnv): string | undefined {
  return env[envName] ?? (process.getuid?.() === 0 ? rootDefault : undefined);
}

/** Runs xenstored until a signal; returns the exit status. */
export async function xenstoredMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: XenstoredArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof ToolstackError) {
      process.stderr.write(`dom0d xenstored: ${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`);
      return e.exitCode;
    }
    throw e;
  }
  const runDir = defaultDir('DOM0_RUN_DIR', '/run/dom0', env);
  const stateRoot = defaultDir('DOM0_STATE_DIR', '/var/lib/dom0', env);
  const socketPath = args.socket ?? (runDir === undefined ? undefined : join(runDir, 'xenstored', 'socket'));
  const stateDir = args.stateDir ?? (stateRoot === undefined ? undefined : join(stateRoot, 'xenstore'));
  if (socketPath === undefined || stateDir === undefined) {
    process.stderr.write('dom0d xenstored: no socket or state directory given\nhint: pass --socket PATH --state-dir DIR (or set DOM0_RUN_DIR and DOM0_STATE_DIR)\n');
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  let handle;
  try {
    handle = await startXenstored({
      socketPath,
      stateDir,
      quotas: args.quotas,
      keepOrphans: args.keepOrphans,
      log,
      ...(args.domainSocketDir === undefined ? {} : { domainSocketDir: args.domainSocketDir }),
    });
  } catch (e) {
    const hint = e instanceof ToolstackError && e.hint !== undefined ? `hint: ${e.hint}\n` : '';
    process.stderr.write(`dom0d xenstored: starting failed: ${e instanceof Error ? e.message : String(e)}\n${hint}`);
    return 1;
  }
  if (args.verbose) await handle.connect().control(['log', 'on']);
  log(`xenstored: listening on ${socketPath} (state in ${stateDir})`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await handle.close();
  return 0;
}
