import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkRunDir, DOM0_BUILD, ERROR_CODES, isErrno, launchEnv, monotonicMs, pathsEnv, resolvePaths, toDaemonEnv, toJson, ToolstackError } from '../common/index.js';
import type { Dom0Paths, ErrorCode } from '../common/index.js';
import { ensurePrivateDir, isPidStopped, pidFileHolder, releasePidFile, tryTakePidFile } from '../host/index.js';
import type { ApiRoute } from './routes.js';
import { API_ROUTES, routeRequest } from './routes.js';
import type { ToolstackApi } from './toolstack.js';

/** How a client finds (and, if need be, starts) its dom0d. */
export interface ClientOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Start dom0d when none answers (the default); false: fail with DAEMON_UNAVAILABLE instead. */
  readonly autostart?: boolean;
}

/** The directories this process's environment names (DOM0_*_DIR, else root or XDG defaults). */
export function clientPaths(options: Pick<ClientOptions, 'env' | 'cwd'>): Dom0Paths {
  return resolvePaths(options.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: options.cwd });
}

/**
 * A ToolstackApi that calls dom0d over `RUN_DIR/api.sock`. Connecting is lazy: the first call
 * that finds no dom0d (socket absent or refusing) starts one (`ensureDom0d`) and retries once.
 * Errors come back as the `ToolstackError` dom0d raised, code and all.
 */
export function connectToolstack(options: ClientOptions): ToolstackApi {
  const paths = clientPaths(options);
  let started = false;
  const call = async (route: ApiRoute, req: object | undefined): Promise<unknown> => {
    checkRunDir(paths);
    const { path, body } = routeRequest(route, req);
    const request = (): Promise<unknown> => whileDom0dRuns(paths, (signal) => apiRequest(paths.apiSocket, route.method, path, route.method === 'POST' ? body : undefined, signal), route.method === 'POST');
    try {
      return await request();
    } catch (e: unknown) {
      if (started || options.autostart === false || !isNoDaemon(e)) throw unreachable(paths, e);
      started = true;
      await ensureDom0d(paths, options.env);
      try {
        return await request();
      } catch (again: unknown) {
        throw unreachable(paths, again); // a dom0d that answered and then stopped
      }
    }
  };
  const api: Record<string, (req?: object) => Promise<unknown>> = {};
  for (const [op, route] of Object.entries(API_ROUTES)) api[op] = (req) => call(route, req);
  return api as unknown as ToolstackApi;
}

/** How often a client waiting for dom0d's answer looks whether dom0d is stopped. */
const STOPPED_POLL_MS = 2000;

/**
 * `exchange`, not begun when dom0d is stopped (SIGSTOP, ^Z, a debugger), and given up when it
 * stops meanwhile: it answers nothing until it runs again, and a client would wait for good. One
 * that is only slow is waited for. A request given up after it was sent is still dom0d's, carried
 * out once it runs again: the failure says so (before, a create "failed" and then happened).
 */
function whileDom0dRuns(paths: Dom0Paths, exchange: (signal: AbortSignal) => Promise<unknown>, changes: boolean): Promise<unknown> {
  const stopped = (): number | undefined => {
    const pid = pidFileHolder(paths.pidFile);
    return pid !== undefined && isPidStopped(pid) ? pid : undefined;
  };
  const before = stopped();
  if (before !== undefined) {
    return Promise.reject(new ToolstackError('DAEMON_UNAVAILABLE', `dom0d (pid ${before}) is stopped: it answers nothing until it runs again (nothing was asked of it)`, {
      hint: `it was stopped by a signal or a debugger: kill -CONT ${before}`,
    }));
  }
  const abort = new AbortController();
  const poll = setInterval(() => {
    const pid = stopped();
    if (pid === undefined) return;
    abort.abort(new ToolstackError('DAEMON_UNAVAILABLE', `dom0d (pid ${pid}) stopped while it handled this request: it answers nothing until it runs again${changes ? ', and then carries the request out' : ''}`, {
      hint: changes ? `kill -CONT ${pid}, then see what it did (xl list)` : `it was stopped by a signal or a debugger: kill -CONT ${pid}`,
    }));
  }, STOPPED_POLL_MS);
  poll.unref();
  return exchange(abort.signal).finally(() => clearInterval(poll));
}

/**
 * One HTTP/1.1 exchange with dom0d over a unix socket (`Connection: close`). Resolves with the
 * decoded JSON result; rejects with the `ToolstackError` of an error reply, or with the socket's
 * errno error when dom0d cannot be reached, or with `signal`'s reason once it aborts.
 */
export function apiRequest(socket: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  const payload = body === undefined ? '' : toJson(body);
  const head = `${method} ${path} HTTP/1.1\r\nHost: dom0d\r\nConnection: close\r\n` +
    (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`) + '\r\n';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = createConnection(socket);
    signal?.addEventListener('abort', () => {
      conn.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    }, { once: true });
    conn.on('connect', () => conn.write(head + payload));
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.on('error', reject);
    conn.on('end', () => {
      try {
        resolve(decodeResponse(Buffer.concat(chunks).toString('utf8')));
      } catch (e: unknown) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** Decodes a complete HTTP reply from dom0d: the JSON result, or the ToolstackError it carries. */
export function decodeResponse(text: string): unknown {
  const split = text.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (split < 0 || m === null) {
    throw new ToolstackError('DAEMON_UNAVAILABLE', 'dom0d closed the connection without a complete reply', {
      hint: 'dom0d may have crashed: see its log (LOG_DIR/dom0d.log)',
    });
  }
  const status = Number(m[1]);
  let json: unknown;
  try {
    json = JSON.parse(text.slice(split + 4));
  } catch {
    throw new ToolstackError('DAEMON_UNAVAILABLE', `dom0d sent a reply that is not JSON (HTTP ${status})`, {
      hint: 'dom0d may have crashed mid-reply: see its log (LOG_DIR/dom0d.log)',
    });
  }
  if (status === 200) return json;
  const err = (json as { error?: Record<string, unknown> } | null)?.error ?? {};
  const code = typeof err.code === 'string' && Object.hasOwn(ERROR_CODES, err.code) ? (err.code as ErrorCode) : 'API';
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  // A dom0d of another build (dom0 upgraded since it started) may not know what this one asks.
  const build = /^x-dom0-build: *(\S+) *$/im.exec(text.slice(0, split))?.[1];
  const other = build !== undefined && build !== DOM0_BUILD && DOM0_BUILD !== 'dev'
    ? `dom0d runs another build of dom0 (${build}) than this xl (${DOM0_BUILD}): restart dom0d to run this one (its domains keep running)` : undefined;
  const given = str(err.hint);
  const hint = other === undefined ? given : given === undefined ? other : `${given}; ${other}`;
  const lines = Array.isArray(err.lines) ? err.lines.filter((l): l is string => typeof l === 'string') : undefined;
  throw new ToolstackError(code, str(err.message) ?? `dom0d answered HTTP ${status}`, {
    ...(hint === undefined ? {} : { hint }),
    ...(lines === undefined ? {} : { lines }),
    ...(typeof err.exitCode === 'number' ? { exitCode: err.exitCode } : {}),
  });
}

function isNoDaemon(e: unknown): boolean {
  return isErrno(e, 'ENOENT') || isErrno(e, 'ECONNREFUSED');
}

function unreachable(paths: Dom0Paths, e: unknown): unknown {
  if (e instanceof ToolstackError || !(e instanceof Error)) return e;
  return new ToolstackError('DAEMON_UNAVAILABLE', `Cannot reach dom0d at ${paths.apiSocket}: ${e.message}`, {
    cause: e,
    hint: `see ${paths.dom0dLog}`,
  });
}

/** How long `ensureDom0d` waits for a dom0d to answer (DOM0_START_TIMEOUT_MS overrides). */
const START_TIMEOUT_MS = 15_000;

/**
 * Makes sure a dom0d serves `paths`: when none answers, starts `bin/dom0d run` detached (its
 * own session, output appended to `LOG_DIR/dom0d.log`) and waits, bounded, until its socket
 * answers. `RUN_DIR/dom0d.start.lock` (O_EXCL, holding the starter's pid) makes concurrent
 * callers start only one; the others wait for its socket.
 */
export async function ensureDom0d(paths: Dom0Paths, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await startOrWait(paths, env);
  } catch (e: unknown) {
    // The lock, the log: files of RUN_DIR and LOG_DIR that this user cannot make.
    if (!isErrno(e)) throw e;
    throw new ToolstackError('DAEMON_UNAVAILABLE', `Cannot start dom0d: ${e.message}`, { hint: `check ${paths.runDir} and ${paths.logDir}`, cause: e });
  }
}

async function startOrWait(paths: Dom0Paths, env: NodeJS.ProcessEnv): Promise<void> {
  // A value that is no positive number of ms (a typo) leaves the default.
  const given = Number(env.DOM0_START_TIMEOUT_MS);
  const timeout = Number.isFinite(given) && given > 0 ? given : START_TIMEOUT_MS;
  const deadline = monotonicMs() + timeout;
  ensurePrivateDir(paths.runDir);
  const lock = `${paths.runDir}/dom0d.start.lock`;
  while (monotonicMs() < deadline) {
    if (await answers(paths.apiSocket)) return;
    if (tryTakePidFile(lock) === undefined) {
      try {
        if (await answers(paths.apiSocket)) return;
        await startDom0d(paths, env, deadline);
        return;
      } finally {
        releasePidFile(lock);
      }
    }
    await sleep(20);
  }
  throw new ToolstackError('DAEMON_UNAVAILABLE', `Cannot start dom0d: no answer on ${paths.apiSocket} within ${timeout} ms`, {
    hint: `see ${paths.dom0dLog}`,
  });
}

/**
 * Node flags dom0d runs with (bin/dom0d's first line carries the same): a 1 MiB semi-space caps
 * V8's young generation, which otherwise grows to 16 MiB under a create/destroy loop and is never
 * given back (see src/daemon/heap-trim.ts for the old generation); one V8 worker thread instead of
 * four (dom0d's heap is small, and each thread costs stack and a malloc arena); no optimizing
 * compiler past Sparkplug (`--max-opt=1`): dom0d waits on sockets and QEMU, and TurboFan's code
 * and the code it makes cost ~6 MiB resident (bench/daemon-memory) for no measurable gain in
 * bench/xenstore or bench/event-flood.
 */
export const DOM0D_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1', '--max-opt=1'];

/**
 * Environment dom0d's own process starts with (bin/dom0d's first line carries the same): one malloc
 * arena, where glibc would give each of node's threads its own (4 MiB less resident after a
 * create/destroy loop). dom0d takes these out of its environment at start (`dropOwnEnv`), so the
 * QEMUs and scripts it runs do not inherit them.
 */
export const DOM0D_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };
/** Set (`1`) in the environment of a dom0d an xl starts: it sheds that xl's scheduling too (`shedInherited`). */
export const AUTOSTARTED = 'DOM0D_AUTOSTARTED';

/**
 * `sh -c` script: limits a shell may have lowered put back as far as they go (dom0d, and every
 * QEMU it starts, inherits them for as long as it runs: past a file-size limit a write kills its
 * process — a QEMU writing its guest's disk —, and an address-space limit fails every guest's
 * RAM) — as far as the hard limit where it cannot be lifted (not root) —, the soft limit of open
 * files up to the hard one; then exec the arguments.
 */
const RAISE_LIMITS = 'for l in f v d; do ulimit -$l unlimited 2>/dev/null || ulimit -S -$l "$(ulimit -H -$l)" 2>/dev/null; done; ulimit -n "$(ulimit -H -n)" 2>/dev/null; exec "$@"';

async function startDom0d(paths: Dom0Paths, env: NodeJS.ProcessEnv, deadline: number): Promise<void> {
  const { spawn } = await import('node:child_process');
  ensurePrivateDir(paths.logDir);
  const log = openSync(paths.dom0dLog, 'a', 0o600);
  const logFrom = fstatSync(log).size;
  let exited: string | undefined;
  let childPid: number | undefined;
  try {
    // Through sh, to raise dom0d's limits (Node has no setrlimit): see RAISE_LIMITS. A limit sh
    // cannot raise is left as it is. The environment is a daemon's (toDaemonEnv).
    const child = spawn('/bin/sh', ['-c', RAISE_LIMITS, 'dom0d', process.execPath, ...DOM0D_NODE_FLAGS, dom0dScript(env), 'run'], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: '/',
      env: { ...toDaemonEnv(launchEnv(env)), ...pathsEnv(paths), ...DOM0D_ENV, [AUTOSTARTED]: '1' },
    });
    child.on('error', (e) => {
      exited = e.message;
    });
    child.on('exit', (code, signal) => {
      exited = signal === null ? `exit status ${code}` : `signal ${signal}`;
    });
    childPid = child.pid;
    child.unref();
  } finally {
    closeSync(log);
  }
  while (monotonicMs() < deadline) {
    if (await answers(paths.apiSocket)) return;
    // A dom0d that lost the pid-file race exits: wait for the winner instead.
    if (exited !== undefined && !otherDom0dStarting(paths.pidFile, childPid)) throw startFailure(paths.dom0dLog, logFrom, childPid, exited);
    await sleep(10);
  }
}

/** True when the pid file names a live process other than `childPid` (a dom0d starting up). */
function otherDom0dStarting(pidFile: string, childPid: number | undefined): boolean {
  const holder = pidFileHolder(pidFile);
  return holder !== undefined && holder !== childPid;
}

/** `bin/dom0d` of this installation (DOM0_DOM0D overrides). */
function dom0dScript(env: NodeJS.ProcessEnv): string {
  if (env.DOM0_DOM0D !== undefined && env.DOM0_DOM0D !== '') return env.DOM0_DOM0D;
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'bin', 'dom0d');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new ToolstackError('DAEMON_UNAVAILABLE', 'Cannot find bin/dom0d next to this xl', { hint: 'set DOM0_DOM0D to its path' });
}

/**
 * Why a dom0d this xl started exited at once, from what it wrote to its log since `from`: its last
 * line and the hint after it (dom0d says what stopped it so), without the log's time and pid
 * prefix; a process that wrote no such line (it crashed) points at the log.
 */
function startFailure(logFile: string, from: number, pid: number | undefined, exited: string): ToolstackError {
  let lines: string[] = [];
  try {
    const prefix = new RegExp(`^\\S+ dom0d\\[${pid ?? ''}\\]: `);
    lines = readFileSync(logFile).subarray(from).toString('utf8').split('\n').filter((l) => prefix.test(l)).map((l) => l.replace(prefix, ''));
  } catch {
    // no log to read: the generic line below
  }
  const hinted = lines.at(-1)?.startsWith('hint: ') === true;
  const message = hinted ? lines.at(-2) : lines.at(-1);
  if (message === undefined) return new ToolstackError('DAEMON_UNAVAILABLE', `Cannot start dom0d: it exited at once (${exited})`, { hint: `see ${logFile}` });
  return new ToolstackError('DAEMON_UNAVAILABLE', message.startsWith('Cannot ') ? message : `Cannot start dom0d: ${message}`, {
    hint: hinted ? (lines.at(-1) as string).slice('hint: '.length) : `see ${logFile}`,
  });
}

/** True when a dom0d serves the API socket of `options` now (none is started). */
export function daemonAnswers(options: Pick<ClientOptions, 'env' | 'cwd'>): Promise<boolean> {
  return answers(clientPaths(options).apiSocket);
}

/** True when something accepts a connection on `socket`. */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    conn.on('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.on('error', () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
