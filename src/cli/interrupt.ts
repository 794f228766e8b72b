import { ToolstackError } from '../common/index.js';
import type { StopSignal } from '../common/index.js';

/** What a terminal or a supervisor sends to stop a command: Ctrl-C, a closed terminal, `kill`. */
const SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
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

/**
 * `command` (for `sh -c`) with the stop signals xl was started with ignored ignored in it too:
 * Node starts its children with every signal at its default, where a C xl's children inherit the
 * ignored ones (a `nohup xl migrate`'s ssh must outlive the terminal as xl does).
 */
export function keepingIgnored(command: string): string {
  return ignored.size === 0 ? command : `trap '' ${[...ignored].map((s) => s.slice(3)).join(' ')}; ${command}`;
}

/**
 * Runs `work` until it settles or xl gets SIGINT, SIGTERM or SIGHUP: the result then rejects at
 * once with INTERRUPTED, so that the command's own failure path undoes what it had begun (Node's
 * default ends xl on the spot: a migration's half-received domain stayed behind). `work` is not
 * stopped: it must call `check()` before each step that changes something, which throws once a
 * signal came. A second signal ends xl as Node would (the handlers go when the result settles).
 */
export async function interruptible<T>(work: (check: () => void) => Promise<T>): Promise<T> {
  let signal: string | undefined;
  const error = (): ToolstackError => new ToolstackError('INTERRUPTED', `Interrupted (${signal ?? 'signal'})`);
  let stop!: (e: unknown) => void;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  const onSignal = (s: string): void => {
    signal = s;
    stop(error());
  };
  const stops = SIGNALS.filter((s) => !ignored.has(s));
  for (const s of stops) process.once(s, onSignal);
  try {
    const running = work(() => {
      if (signal !== undefined) throw error();
    });
    running.catch(() => undefined); // once interrupted, its failure is nobody's
    return await Promise.race([running, stopped]);
  } finally {
    for (const s of stops) process.off(s, onSignal);
  }
}
