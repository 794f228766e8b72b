// Golden files of Xen's layouts: sections headed `---- <name>` (lines before the first are comments).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The sections of `test/golden/<file>`, by heading. */
export function goldenSections(file: string): Map<string, string> {
  const text = readFileSync(join(import.meta.dirname, '..', '..', '..', 'test', 'golden', file), 'utf8');
  const out = new Map<string, string>();
  for (const part of text.split(/^---- /m).slice(1)) {
    const nl = part.indexOf('\n');
    out.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return out;
}
