/**
 * The one way a QEMU is started (domains, probes' callers, tests): detached, its QMP monitor on a
 * Unix socket, connected and negotiated before returning.
 *
 * Contract: `args` open a QMP monitor on `qmpSocket` (the argv builder's `qmpMonitorArgs`, which it
 * adds for domains). A stale socket file is removed first, so an old QEMU is never mistaken for the new
 * one. The connection is made by straight attempts (no probe connection QEMU would have to accept
 * and drop), retried while the socket is absent or refuses, until QEMU exits or the deadline.
 * On failure nothing is left running: a QEMU that exited is reported with its own last words (the
 * tail of `logFile`), one that never answered is killed by pid.
 *
 * QEMU runs with glibc's malloc backing its heap by transparent huge pages where the host allows
 * them (`glibc.malloc.hugetlb=1` in GLIBC_TUNABLES, added to the user's own unless they set
 * hugetlb themselves): its start-up allocations (QOM types, machine, devices) otherwise fault in
 * thousands of fresh 4 KiB pages one by one. Measured here, start to the QMP greeting 125 → 100 ms
 * for 2 MiB more resident per QEMU; the guest's own RAM is not malloc's.
 */
import { rmSync } from 'node:fs';
import { monotonicMs, ToolstackError } from '../common/index.js';
import { logTail, pidState, spawnDetached, waitForPidExit } from '../host/index.js';
import type { DetachedChild, SpawnDetachedOptions } from '../host/index.js';
import { QmpClient } from './qmp/client.js';

export interface LaunchQemuOptions extends SpawnDetachedOptions {
  /** Where `args` make QEMU serve QMP. */
  readonly qmpSocket: string;
  /** For QEMU to listen and greet (default 10000 ms). */
  readonly timeoutMs?: number;
  /** Called as soon as QEMU is spawned (before QMP answers): whoever may have to kill it. */
  readonly onSpawned?: (child: DetachedChild) => void;
  /** Names the QEMU in messages (`of domain 'web'`). */
  readonly label?: string;
}

export interface LaunchedQemu {
  readonly pid: number;
  readonly qmp: QmpClient;
}

/**
 * Spawns QEMU and connects to its QMP socket. Fails with code QEMU: QEMU exited at start (its log
 * tail in the message), or did not answer in time (then it is killed).
 */
export async function launchQemu(options: LaunchQemuOptions): Promise<LaunchedQemu> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  rmSync(options.qmpSocket, { force: true });
  const child = await spawnDetached({ ...options, env: withMallocHugePages(options.env ?? process.env) });
  const { pid } = child;
  options.onSpawned?.(child);
  try {
    return { pid, qmp: await connectQmp(options.qmpSocket, pid, timeoutMs) };
  } catch (e: unknown) {
    // A QEMU that exits at start may still have opened its socket: its own message is the cause.
    const died = pidState(pid) !== 'running' || await waitForPidExit(pid, 300);
    if (!died) child.kill();
    const who = `QEMU (pid ${pid})${options.label === undefined ? '' : ` ${options.label}`}`;
    const tail = qemuLogReason(options.logFile, 5);
    const known = died ? START_FAILURES.find(([said]) => said.test(tail))?.[1] : undefined;
    throw new ToolstackError('QEMU', died
      ? `${who} exited at start${tail === '' ? '' : `: ${tail}`}`
      : `${who} did not answer on ${options.qmpSocket} within ${timeoutMs} ms: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      hint: known === undefined ? `see ${options.logFile}` : `${known} (see ${options.logFile})`,
    });
  }
}

/** What QEMU says when it cannot start a machine of the config, and what the config can do about it. */
const START_FAILURES: ReadonlyArray<readonly [RegExp, string]> = [
  [/PCI: no slot\/function available/, 'the machine has no PCI slot left (a PC has 32, and each virtio disk, vif, USB controller and passed-through device takes one): give fewer'],
];

/**
 * The last `lines` lines of QEMU's log `file`, joined with ` | `, without the time stamps and
 * program name QEMU puts before its messages (`-msg timestamp=on`): why a QEMU exited.
 */
export function qemuLogReason(file: string, lines: number): string {
  return logTail(file, lines).split('\n').map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '').replace(/^qemu-system-\w+: /, '')).filter((l) => l !== '').join(' | ');
}

/** `env` with `glibc.malloc.hugetlb=1` among its GLIBC_TUNABLES, unless it sets hugetlb already. */
export function withMallocHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env['GLIBC_TUNABLES'] ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return env;
  return { ...env, GLIBC_TUNABLES: tunables === '' ? 'glibc.malloc.hugetlb=1' : `${tunables}:glibc.malloc.hugetlb=1` };
}

async function connectQmp(path: string, pid: number, timeoutMs: number): Promise<QmpClient> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    if (pidState(pid) !== 'running') throw new ToolstackError('QEMU', `QEMU (pid ${pid}) exited before its QMP socket '${path}' was ready`);
    try {
      return await QmpClient.connect(path, { timeoutMs: Math.max(1, deadline - monotonicMs()) });
    } catch (e: unknown) {
      const code = (e as { cause?: NodeJS.ErrnoException }).cause?.code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || monotonicMs() >= deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
