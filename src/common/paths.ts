/**
 * Where a dom0 "host" keeps its files (shared/design.md, "Where things live"). The names inside
 * the directories are a contract: scripts, tests and users rely on them.
 *
 * | what | root | not root (XDG) | override |
 * |---|---|---|---|
 * | configs, xl.conf, auto/ | /etc/xen | $XDG_CONFIG_HOME/dom0 | DOM0_CONFIG_DIR |
 * | persisted state | /var/lib/dom0 | $XDG_STATE_HOME/dom0 | DOM0_STATE_DIR |
 * | sockets, pid files | /run/dom0 | $XDG_RUNTIME_DIR/dom0 (else /tmp/dom0-UID) | DOM0_RUN_DIR |
 * | logs | /var/log/dom0 | $XDG_STATE_HOME/dom0/log | DOM0_LOG_DIR |
 *
 * Pure: the caller supplies the environment and the facts about the process.
 */
import { ToolstackError } from './errors.js';

export interface Dom0Paths {
  readonly configDir: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly logDir: string;
  /** `RUN_DIR/api.sock`: dom0d's HTTP/JSON API (mode 0600). */
  readonly apiSocket: string;
  /** `RUN_DIR/dom0d.pid`: the running dom0d's pid; also its single-instance lock. */
  readonly pidFile: string;
  /** `RUN_DIR/xenstored/socket`: privileged xenstore (`XENSTORED_PATH`). */
  readonly xenstoredSocket: string;
  /** `STATE_DIR/domains/`: one persisted record per domain. */
  readonly domainsDir: string;
  /** `LOG_DIR/dom0d.log`. */
  readonly dom0dLog: string;
  /**
   * `RUN_DIR/network/`: dom0's NAT networks, `<bridge>.json` (what was made) and
   * `<bridge>.dnsmasq.pid`.
   */
  readonly networkRunDir: string;
  /** `STATE_DIR/network/`: the NAT networks' DHCP leases, `<bridge>.leases`. */
  readonly networkStateDir: string;
}

/** The process facts the defaults depend on. */
export interface PathContext {
  readonly uid: number;
  /** The user's home directory (XDG fallbacks). */
  readonly home: string;
  /** Relative overrides are taken relative to this. */
  readonly cwd: string;
}

/**
 * The longest domain name, in UTF-8 bytes: names become file names (`qemu-<name>.log.1` must fit
 * the 255-byte limit of a file name) and xenstore values.
 */
export const MAX_DOMAIN_NAME_BYTES = 244;

/** Environment variables that override each directory. */
export const PATH_ENV = {
  configDir: 'DOM0_CONFIG_DIR',
  stateDir: 'DOM0_STATE_DIR',
  runDir: 'DOM0_RUN_DIR',
  logDir: 'DOM0_LOG_DIR',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Resolves every directory and well-known file from the environment (all absolute). */
export function resolvePaths(env: Env, ctx: PathContext): Dom0Paths {
  const root = ctx.uid === 0;
  const set = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const configHome = set('XDG_CONFIG_HOME') ?? `${ctx.home}/.config`;
  const stateHome = set('XDG_STATE_HOME') ?? `${ctx.home}/.local/state`;
  const runtime = set('XDG_RUNTIME_DIR');
  const pick = (key: keyof typeof PATH_ENV, rootDefault: string, userDefault: string): string =>
    absolute(set(PATH_ENV[key]) ?? (root ? rootDefault : userDefault), ctx.cwd);
  const configDir = pick('configDir', '/etc/xen', `${configHome}/dom0`);
  const stateDir = pick('stateDir', '/var/lib/dom0', `${stateHome}/dom0`);
  const runDir = pick('runDir', '/run/dom0', runtime === undefined ? `/tmp/dom0-${ctx.uid}` : `${runtime}/dom0`);
  const logDir = pick('logDir', '/var/log/dom0', `${stateHome}/dom0/log`);
  return {
    configDir,
    stateDir,
    runDir,
    logDir,
    apiSocket: `${runDir}/api.sock`,
    pidFile: `${runDir}/dom0d.pid`,
    xenstoredSocket: `${runDir}/xenstored/socket`,
    domainsDir: `${stateDir}/domains`,
    dom0dLog: `${logDir}/dom0d.log`,
    networkRunDir: `${runDir}/network`,
    networkStateDir: `${stateDir}/network`,
  };
}

/**
 * The longest run directory (bytes): its deepest Unix socket, `RUN_DIR/domains/<domid>/<chardev>.sock`,
 * must fit the 107 bytes of a socket address (the kernel's 108 with the NUL). A longer path is not
 * refused by Node: it is cut, and the socket made under another name.
 */
export const MAX_RUN_DIR_BYTES = 107 - '/domains/32752/channel99.sock'.length - 4;

/** Fails (USAGE) when `paths.runDir` is too long for the sockets dom0 makes in it. */
export function checkRunDir(paths: Pick<Dom0Paths, 'runDir'>): void {
  const n = new TextEncoder().encode(paths.runDir).length;
  if (n <= MAX_RUN_DIR_BYTES) return;
  throw new ToolstackError('USAGE', `The run directory ${paths.runDir} is too long (${n} bytes) for the Unix sockets dom0 makes in it`, {
    hint: `give a DOM0_RUN_DIR of at most ${MAX_RUN_DIR_BYTES} bytes`,
  });
}

/** The environment that makes another process (a spawned dom0d) resolve exactly `paths`. */
export function pathsEnv(paths: Dom0Paths): Record<string, string> {
  return {
    [PATH_ENV.configDir]: paths.configDir,
    [PATH_ENV.stateDir]: paths.stateDir,
    [PATH_ENV.runDir]: paths.runDir,
    [PATH_ENV.logDir]: paths.logDir,
  };
}

function absolute(p: string, cwd: string): string {
  const joined = p.startsWith('/') ? p : `${cwd}/${p}`;
  const parts: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}
