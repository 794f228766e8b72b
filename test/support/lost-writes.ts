import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The detector's source (lost-writes.c: what it does and prints). */
const SOURCE = join(import.meta.dirname, '..', '..', '..', 'test', 'support', 'lost-writes.c');

/**
 * Builds the lost-writes detector as a static x86-64 program at `dir/lost-writes` (any Linux
 * guest runs it) and returns its path; fails with the compiler's words.
 */
export function buildLostWrites(dir: string): string {
  const out = join(dir, 'lost-writes');
  const cc = spawnSync('cc', ['-O2', '-static', '-o', out, SOURCE], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc ${SOURCE}: ${cc.error?.message ?? cc.stderr}`);
  return out;
}
