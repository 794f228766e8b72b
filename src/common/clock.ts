/**
 * Milliseconds on a clock that only moves forward (`performance.now()`, counted from the
 * process's start), for deadlines, timeouts and elapsed times. The wall clock (`Date.now()`)
 * jumps when the host's time is set or stepped by NTP: a deadline on it fired at once or held
 * for as long as the jump. The wall clock is for what outlives the process or is shown.
 */
export function monotonicMs(): number {
  return performance.now();
}
