import { monotonicMs } from './clock.js';

/**
 * A log for errors that come back with every write (a console log on a full disk fails for each
 * line the guest prints; xenstored dropping one client after another): a line said again within
 * `quietMs` of its last showing is counted, not written, and the count comes with its next
 * showing. Lines are the same when their `key` is (default: the line itself). At most
 * `remembered` distinct keys are tracked (the oldest is forgotten first), so the filter itself
 * stays small.
 */
export function quietLog(log: (line: string) => void, quietMs = 60_000, remembered = 64, now: () => number = monotonicMs): (line: string, key?: string) => void {
  const shown = new Map<string, { at: number; skipped: number }>();
  return (line, key = line) => {
    const t = now();
    const last = shown.get(key);
    if (last !== undefined && t - last.at < quietMs) {
      last.skipped++;
      return;
    }
    log(last === undefined || last.skipped === 0 ? line : `${line} (${last.skipped} more since it was last said)`);
    shown.delete(key);
    shown.set(key, { at: t, skipped: 0 });
    if (shown.size > remembered) shown.delete(shown.keys().next().value as string);
  };
}
