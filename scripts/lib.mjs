// Small helpers shared by the build and test scripts.
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every file below `dir` whose name ends with `suffix` (none if `dir` is absent). */
export function filesEndingWith(dir, suffix, out = []) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) filesEndingWith(p, suffix, out);
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}
