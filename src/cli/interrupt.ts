import { ToolstackError } from '../common/index.js';

/** What a terminal or a supervisor sends to stop a command: Ctrl-C, a closed terminal, `kill`. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

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
  for (const s of SIGNALS) process.once(s, onSignal);
  try {
    const running = work(() => {
      if (signal !== undefined) throw error();
    });
    running.catch(() => undefined); // once interrupted, its failure is nobody's
    return await Promise.race([running, stopped]);
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}
