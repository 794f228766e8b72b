import { constants } from 'node:os';
import { isToolstackError, STOP_SIGNALS, ToolstackError } from '../common/index.js';
import type { StopSignal } from '../common/index.js';

/** What a terminal or a supervisor sends to stop a command: Ctrl-C, a closed terminal, `kill`. */
const SIGNALS = Object.keys(STOP_SIGNALS) as StopSignal[];

/** The stop signal whose interruption (`interruptedError`) ends a command with exit `status`. */
export function stopSignalOfStatus(status: number): StopSignal | undefined {
  return SIGNALS.find((s) => 128 + STOP_SIGNALS[s] === status);
}
/**
 * The failure of a command a stop signal ended (once it undid what it had begun): exit status
 * 128 + the signal's number, as a shell reports a command the signal killed (130 for Ctrl-C),
 * which is what xl's other commands, left to Node's default, exit with.
 */
export function interruptedError(signal: string | undefined, hint?: string): ToolstackError {
  const n = signal === undefined ? undefined : (constants.signals as Readonly<Record<string, number | undefined>>)[signal];
  return new ToolstackError('INTERRUPTED', `Interrupted (${signal ?? 'signal'})`, { exitCode: n === undefined ? 1 : 128 + n, ...(hint === undefined ? {} : { hint }) });
}

/** Those xl was started with ignored (see `ignoreAtLaunch`): they stay ignored. */
let ignored: ReadonlySet<StopSignal> = new Set();

/**
 * Keeps ignoring the stop signals xl was started with ignored (`takeIgnoredSignals`), as a C
 * program would: a listener that does nothing stands in for the disposition Node reset, and
 * `interruptible` does not take them for an interruption.
 */
export function ignoreAtLaunch(signals: ReadonlySet<StopSignal>): void {
  ignored = signals;
  for (const s of signals) process.on(s, () => undefined);
}

/** The stop signals xl acts on: SIGINT, SIGTERM and SIGHUP but those it was started with ignored. */
export function stopSignals(): StopSignal[] {
  return SIGNALS.filter((s) => !ignored.has(s));
}

/**
 * `command` (for `sh -c`) with the stop signals xl was started with ignored ignored in it too:
 * Node starts its children with every signal at its default, where a C xl's children inherit the
 * ignored ones (a `nohup xl migrate`'s ssh must outlive the terminal as xl does).
 */
export function keepingIgnored(command: string): string {
  return ignored.size === 0 ? command : `trap '' ${[...ignored].map((s) => s.slice(3)).join(' ')}; ${command}`;
}

/** The `work` of `interruptible`: `check()` throws once a signal came; `critical(fn)` runs `fn` whole. */
export type InterruptibleWork<T> = (check: () => void, critical: <U>(fn: () => Promise<U>) => Promise<U>) => Promise<T>;

/**
 * Runs `work` until it settles or xl gets SIGINT, SIGTERM or SIGHUP: the result then rejects at
 * once with INTERRUPTED, so that the command's own failure path undoes what it had begun (Node's
 * default ends xl on the spot: a migration's half-received domain stayed behind). `work` is not
 * stopped: it must call `check()` before each step that changes something, which throws once a
 * signal came. Steps that must not be cut off midway (what the failure path would undo
 * while they still run: a receiver starting the domain after "go", which its undo destroyed as
 * the sender destroyed its own copy) run in `critical(fn)`: a signal meanwhile waits for `fn` to
 * end, and the next `check()` tells. A second signal ends xl as Node would (the handlers go when
 * the result settles).
 */
export async function interruptible<T>(work: InterruptibleWork<T>): Promise<T> {
  let signal: string | undefined;
  const error = (): ToolstackError => interruptedError(signal);
  let stop!: (e: unknown) => void;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  let inCritical = 0;
  const onSignal = (s: string): void => {
    signal = s;
    if (inCritical === 0) stop(error());
  };
  const critical = async <U>(fn: () => Promise<U>): Promise<U> => {
    inCritical++;
    try {
      return await fn();
    } finally {
      inCritical--;
    }
  };
  const stops = stopSignals();
  for (const s of stops) process.once(s, onSignal);
  try {
    const running = work(() => {
      if (signal !== undefined) throw error();
    }, critical);
    running.catch(() => undefined); // once interrupted, its failure is nobody's
    return await Promise.race([running, stopped]);
  } catch (e: unknown) {
    // A failure the signal caused (Ctrl-C reaches a transport in xl's process group too, and
    // its end may be seen first) is the interruption.
    throw signal !== undefined && !isToolstackError(e, 'INTERRUPTED') ? interruptedError(signal) : e;
  } finally {
    for (const s of stops) process.off(s, onSignal);
  }
}
