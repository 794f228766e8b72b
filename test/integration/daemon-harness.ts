import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { apiRequest } from '../../src/api/index.js';
import { dom0CgroupName } from '../../src/domain/index.js';
import { CgroupTree, findCpuCgroups, isPidAlive } from '../../src/host/index.js';

export const XL = join(import.meta.dirname, '..', '..', '..', 'bin', 'xl');
export const DOM0D = join(import.meta.dirname, '..', '..', '..', 'bin', 'dom0d');

/** One "host": its own DOM0_*_DIRs under a temp dir, and the dom0d processes it started. */
export interface TestHost {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly runDir: string;
  readonly logDir: string;
  readonly stateDir: string;
  readonly socket: string;
  readonly pidFile: string;
  /** The network namespace xl (and so the dom0d it autostarts, and its QEMUs) runs in. */
  readonly netns?: string;
}

/** `netns`: run xl through `ip netns exec` (the namespace the test made). */
export function makeHost(options: { readonly netns?: string } = {}): TestHost {
  const root = mkdtempSync('/tmp/dom0-it-');
  const dirs = { c: join(root, 'etc'), s: join(root, 'state'), r: join(root, 'run'), l: join(root, 'log') };
  return {
    root,
    env: {
      ...process.env,
      DOM0_CONFIG_DIR: dirs.c,
      DOM0_STATE_DIR: dirs.s,
      DOM0_RUN_DIR: dirs.r,
      DOM0_LOG_DIR: dirs.l,
      DOM0_TEST_API: '1',
    },
    runDir: dirs.r,
    logDir: dirs.l,
    stateDir: dirs.s,
    socket: join(dirs.r, 'api.sock'),
    pidFile: join(dirs.r, 'dom0d.pid'),
    ...(options.netns === undefined ? {} : { netns: options.netns }),
  };
}

export interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export function xl(host: TestHost, ...args: string[]): Promise<Run> {
  return xlIn(host, undefined, ...args);
}

/** `xl` run in the directory `cwd` (relative config paths), or this process's when undefined. */
export function xlIn(host: TestHost, cwd: string | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const argv = host.netns === undefined ? [XL, ...args] : ['ip', 'netns', 'exec', host.netns, XL, ...args];
    const child = spawn(argv[0] as string, argv.slice(1), { env: host.env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

export function readPid(host: TestHost): number | undefined {
  try {
    return Number.parseInt(readFileSync(host.pidFile, 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/** Present and not a zombie (a detached process is reaped by init only every second or two). */
export function alive(pid: number): boolean {
  return isPidAlive(pid);
}

export async function waitGone(pid: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) throw new Error(`process ${pid} still alive after ${ms} ms`);
}

/** The dom0d processes serving this host's run directory (from /proc: cmdline and environ). */
export function dom0dPids(host: TestHost): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('dom0d')) continue;
      if (readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`DOM0_RUN_DIR=${host.runDir}`)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Registers a running domain without a machine (test route of dom0d). */
export function registerDomain(host: TestHost, name: string, memKiB = 262144, vcpus = 1): Promise<unknown> {
  return apiRequest(host.socket, 'POST', '/v1/test/domains', {
    config: {
      c_info: { type: 'pv', name },
      b_info: { max_vcpus: vcpus, avail_vcpus: Array.from({ length: vcpus }, (_, i) => i), max_memkb: memKiB, target_memkb: memKiB },
    },
  });
}

/** Stops the dom0d this host started (the pid in its pid file; SIGKILL if SIGTERM is not enough) and removes the temp dirs. */
export async function destroyHost(host: TestHost): Promise<void> {
  const pid = readPid(host);
  if (pid !== undefined && alive(pid) && dom0dPids(host).includes(pid)) {
    process.kill(pid, 'SIGTERM');
    try {
      await waitGone(pid, 5000);
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(host.root, { recursive: true, force: true });
  removeCgroups(host);
}

/**
 * Removes what a dom0d of this host left in the host's cgroups (a dom0d killed before it could
 * clean up): its top group and every group under it that holds no thread.
 */
export function removeCgroups(host: TestHost): void {
  const mounts = findCpuCgroups();
  if (mounts !== undefined) new CgroupTree(mounts, dom0CgroupName(host.runDir)).remove('');
}

/**
 * The API's URL over TCP (`RUN_DIR/api.url`): dom0d writes it once its TCP listener is up, which
 * may be after it has answered a first xl over its Unix socket.
 */
export async function apiUrl(host: TestHost): Promise<string> {
  const file = join(host.runDir, 'api.url');
  await until(`${file}`, () => existsSync(file), 10_000, 20);
  return readFileSync(file, 'utf8').trim();
}

/** A xenstore value read with Debian's `xenstore-read`, against the host's xenstored. */
export function xsRead(host: TestHost, path: string): string {
  return execFileSync('xenstore-read', [path], { env: host.env, encoding: 'utf8' }).trimEnd();
}

/** Whether a xenstore path exists, asked with Debian's `xenstore-exists`. */
export function xsExists(host: TestHost, path: string): boolean {
  try {
    execFileSync('xenstore-exists', [path], { env: host.env, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Processes whose argv names `dir` (a test host's QEMUs, its dnsmasq): what clean-up kills by pid. */
export function pidsNaming(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Polls `probe` every `intervalMs` until it gives something other than undefined or false, and
 * resolves with that; fails naming `what` after `timeoutMs`.
 */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Destroys every domain `host`'s dom0d has (a test's clean-up; a dom0d that is gone has none). */
export async function destroyDomains(host: TestHost): Promise<void> {
  const r = await xl(host, 'list', '--json').catch(() => undefined);
  const domains = r === undefined || r.code !== 0 ? [] : JSON.parse(r.out) as Array<{ domid: number }>;
  for (const d of domains) if (d.domid !== 0) await xl(host, 'destroy', String(d.domid));
}

/**
 * `host`'s event feed (`/v1/events?stats=0`, after event `since` when given: 0 replays what the
 * feed kept) over its Unix socket, as the Server-Sent Events text received so far.
 */
export function watchEvents(host: TestHost, since?: number): { readonly text: () => string; readonly close: () => void } {
  const chunks: string[] = [];
  const req = request({ socketPath: host.socket, path: `/v1/events?stats=0${since === undefined ? '' : `&since=${since}`}`, headers: { Host: 'dom0d' } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => chunks.push(c));
  });
  req.on('error', () => undefined);
  req.end();
  return { text: () => chunks.join(''), close: () => req.destroy() };
}

/**
 * A stand-in for `host`'s API socket, for an xl run with `DOM0_RUN_DIR=<dir>`: each request is
 * passed to the host's dom0d (started again, as xl would, when it is not running), unless
 * `kill(requestLine)` says to kill -9 that dom0d instead: at the request (`'request'`: as killed
 * while serving it) or once its reply comes (`'reply'`: done, the reply lost); the request gets
 * no reply. Lets a test kill dom0d at one exact step of a command; or kill `victim` instead (the
 * client, say).
 */
export function killingApiProxy(
  host: TestHost,
  kill: (requestLine: string) => 'request' | 'reply' | false,
  victim: () => number | undefined = () => readPid(host),
): { readonly runDir: string; readonly lines: string[]; readonly close: () => void } {
  const killDom0d = async (): Promise<void> => {
    const pid = victim();
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
  };
  const runDir = mkdtempSync('/tmp/dom0-proxy-');
  const lines: string[] = [];
  const server = createServer((client) => {
    let head = Buffer.alloc(0);
    const onData = (b: Buffer): void => {
      head = Buffer.concat([head, b]);
      if (!head.includes('\r\n\r\n')) return;
      client.off('data', onData);
      client.pause();
      const line = head.subarray(0, head.indexOf('\r\n')).toString();
      lines.push(line);
      void (async () => {
        const when = kill(line);
        if (when === 'request') {
          await killDom0d();
          client.destroy();
          return;
        }
        let upstream = await connected(host.socket);
        if (upstream === undefined) {
          await xl(host, 'list');
          upstream = await connected(host.socket);
        }
        if (upstream === undefined) {
          client.destroy();
          return;
        }
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.write(head);
        client.pipe(upstream);
        client.resume();
        if (when === 'reply') upstream.once('data', () => void killDom0d().then(() => client.destroy()));
        else upstream.pipe(client);
      })();
    };
    client.on('data', onData);
    client.on('error', () => undefined);
  });
  server.listen(join(runDir, 'api.sock'));
  return { runDir, lines, close: () => { server.close(); rmSync(runDir, { recursive: true, force: true }); } };
}

function connected(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => resolve(s)).once('error', () => resolve(undefined));
  });
}
