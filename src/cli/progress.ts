import type { MigrationProgress, ToolstackApi } from '../api/index.js';
import { WakeablePause } from '../common/index.js';
import type { CommandContext } from './command.js';

/** How often a progress line is redrawn. */
const PROGRESS_MS = 200;

/**
 * Runs `work` (a migration or a save of domain `ref`) and, when `ctx.progress`, redraws one line
 * on stderr meanwhile, overwritten with CR as xl's `-t` output is: RAM sent and left, the pass
 * over RAM, the guest's dirty rate and QEMU's expected downtime. The line is ended before
 * `work`'s outcome is returned, so messages after it start on a line of their own.
 */
export async function withProgress<T>(ctx: CommandContext, api: Pick<ToolstackApi, 'getMigrationProgress'>, ref: string, label: string, work: Promise<T>): Promise<T> {
  if (ctx.progress !== true) return work;
  let drawn = false;
  let done = false;
  const between = new WakeablePause();
  const draw = async (): Promise<void> => {
    while (!done) {
      const p = await api.getMigrationProgress({ ref }).catch(() => undefined);
      if (!done && p !== undefined && p.status === 'active') {
        ctx.stderr.write(`\r${progressLine(label, p)}`);
        drawn = true;
      }
      // The pause between redraws ends early when the work does.
      await between.pause(PROGRESS_MS);
    }
  };
  const drawing = draw();
  try {
    return await work;
  } finally {
    done = true;
    between.wake();
    await drawing;
    if (drawn) ctx.stderr.write('\n');
  }
}

/** One progress line (no CR, no newline). */
export function progressLine(label: string, p: MigrationProgress): string {
  const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);
  return `${label}: ${mib(p.transferredBytes)} MiB sent, ${mib(p.remainingBytes)} of ${mib(p.totalBytes)} MiB left, pass ${Math.max(1, p.iterations)}, ` +
    `dirtying ${p.dirtyPagesPerSecond} pages/s, expected downtime ${p.expectedDowntimeMs} ms   `;
}
