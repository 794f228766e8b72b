import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Programs the tests run inside guests; each `NAME.c` here says what it does and prints. */
export type GuestProgram = 'lost-writes' | 'port-flood';

/**
 * Builds `test/support/NAME.c` as a static x86-64 program at `dir/NAME` (any Linux guest runs
 * it) and returns its path; fails with the compiler's words.
 */
export function buildGuestProgram(dir: string, name: GuestProgram): string {
  const source = join(import.meta.dirname, '..', '..', '..', 'test', 'support', `${name}.c`);
  const out = join(dir, name);
  const cc = spawnSync('cc', ['-O2', '-static', '-o', out, source], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc ${source}: ${cc.error?.message ?? cc.stderr}`);
  return out;
}
