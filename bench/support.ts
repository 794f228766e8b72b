// What the benches share: a temp "host", timing a command, medians, a process's resident memory,
// stopping the dom0d they started.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `node -e 0` started as bin/xl and bin/dom0d start Node (src/common/launch-env.ts: without the
 * extra CA bundle Node would otherwise parse first): the baseline of xl's own start-up cost. The
 * benches report `node -e 0` with the user's environment as it is beside it (`NODE_AS_IS`).
 */
export const NODE_BASELINE: readonly string[] = ['env', 'NODE_EXTRA_CA_CERTS=', process.execPath, '-e', '0'];
export const NODE_AS_IS: readonly string[] = [process.execPath, '-e', '0'];

/** A bench's dom0 host: its directory and the environment that points xl and dom0d there. */
export interface BenchHost {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A fresh temp directory and the environment pointing every DOM0_*_DIR into it. */
export function benchHost(extra: NodeJS.ProcessEnv = {}): BenchHost {
  const dir = mkdtempSync('/tmp/dom0-bench-');
  return {
    dir,
    env: {
      ...process.env,
      DOM0_CONFIG_DIR: join(dir, 'etc'),
      DOM0_STATE_DIR: join(dir, 'state'),
      DOM0_RUN_DIR: join(dir, 'run'),
      DOM0_LOG_DIR: join(dir, 'log'),
      ...extra,
    },
  };
}

/** Wall time of running `argv` (a program, then its arguments) to its exit, ms; a failure throws. */
export function wallMs(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

/**
 * The median wall time of each command of `cases`, run `runs` times interleaved (one run of each
 * in turn, after one unmeasured run of each), so that all see the same load.
 */
export function interleavedMedians<K extends string>(cases: Readonly<Record<K, readonly string[]>>, runs: number, env: NodeJS.ProcessEnv): Record<K, number> {
  const entries = Object.entries(cases) as Array<[K, readonly string[]]>;
  const times = new Map<K, number[]>(entries.map(([k]) => [k, []]));
  for (const [, argv] of entries) wallMs(argv, env);
  for (let i = 0; i < runs; i++) {
    for (const [k, argv] of entries) times.get(k)?.push(wallMs(argv, env));
  }
  return Object.fromEntries(entries.map(([k]) => [k, median(times.get(k) ?? [])])) as Record<K, number>;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** VmRSS of `pid`, KiB. */
export function rssKiB(pid: number): number {
  return statusKiB(pid, 'VmRSS');
}

/**
 * A process's resident memory in its two parts, KiB: anonymous (its own heap and stacks) and
 * file-backed (pages of its program and libraries, shared with every process mapping them).
 */
export function rssPartsKiB(pid: number): { anon: number; file: number } {
  return { anon: statusKiB(pid, 'RssAnon'), file: statusKiB(pid, 'RssFile') };
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

/** SIGTERM to a dom0d the bench started, then up to 2 s for it to exit. */
export async function stopDaemon(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The argv dom0d gave a QEMU (`/proc/PID/cmdline`'s words), for a bare QEMU beside it: without
 * `-S`, its sockets, log files and pid file moved into `dir` (same names), so it shares nothing
 * with the domain's and outlives it.
 */
export function bareArgv(argv: readonly string[], dir: string): string[] {
  return argv.filter((a) => a !== '-S').map((a) => a.replace(/path=[^,]*\/([^/,]+\.sock)/, `path=${dir}/$1`)
    .replace(/logfile=[^,]*\/([^/,]+\.log)/, `logfile=${dir}/$1`).replace(/^\/.*qemu\.pid$/, `${dir}/qemu.pid`));
}

/** What domain `name` of the bench host at `dir` printed on its primary console so far ('' before its log exists). */
export function consoleText(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, 'log', 'console', name, 'console0.log'), 'utf8');
  } catch {
    return '';
  }
}
