/**
 * Starting a QEMU the way the toolstack runs every domain: detached, its QMP monitor on a Unix
 * socket that this function adds to the argv, connected and negotiated before returning.
 */
import { rmSync } from 'node:fs';
import { QmpClient } from './qmp/client.js';
import { killPid, pidState, qemuExitedEarly, spawnDetached, waitForPidExit, waitForSocket, type SpawnDetachedOptions } from './process.js';

export interface LaunchQemuOptions extends SpawnDetachedOptions {
  /** Path of the QMP socket; `-qmp unix:PATH,server=on,wait=off` is appended to `args`. */
  readonly qmpSocket: string;
  /** For the socket to appear and for the QMP greeting (default 10000 ms). */
  readonly timeoutMs?: number;
}

export interface LaunchedQemu {
  readonly pid: number;
  readonly qmp: QmpClient;
}

/**
 * Spawns QEMU detached and connects to its QMP socket. A stale socket file at `qmpSocket` is
 * removed first (so an old QEMU is never mistaken for the new one). On failure (QEMU exits at
 * start, e.g. a bad argv, or never answers) the QEMU is killed by pid and the error (code `QEMU`)
 * carries the tail of its log.
 */
export async function launchQemu(options: LaunchQemuOptions): Promise<LaunchedQemu> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  rmSync(options.qmpSocket, { force: true });
  const pid = await spawnDetached({
    ...options,
    args: [...options.args, '-qmp', `unix:${options.qmpSocket},server=on,wait=off`],
  });
  try {
    await waitForSocket(options.qmpSocket, pid, { timeoutMs, logFile: options.logFile });
    const qmp = await QmpClient.connect(options.qmpSocket, { timeoutMs });
    return { pid, qmp };
  } catch (e) {
    // A QEMU that exits at start may still have opened its socket: its own message is the cause.
    if (await waitForPidExit(pid, 300)) throw qemuExitedEarly(pid, options.qmpSocket, options.logFile);
    if (pidState(pid) === 'running') killPid(pid);
    throw e;
  }
}
