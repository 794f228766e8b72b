/** xl's `parse_xsquota_item`: one `<quota>=<value>` of `xl xenstore-quota-set` and `xenstore_quota=`. */
import { ToolstackError } from '../../common/index.js';
import { strtoul } from './c-parse.js';

const HINT = 'a quota item looks like "nodes=2000" (xl xenstore-quota-get lists the names)';

/**
 * The name (everything before the first `=`, unchecked: xenstored judges it) and the value
 * (`strtoul` base 0: decimal, 0x hex or 0 octal; the whole rest, fitting 32 bits). Throws
 * CFG_VALUE with xl's line: `Quota specification "%s" lacks "=".` or `... uses illegal value "%s".`
 */
export function parseXsQuotaItem(item: string): { readonly name: string; readonly value: number } {
  const eq = item.indexOf('=');
  if (eq < 0) {
    const line = `Quota specification "${item}" lacks "=".`;
    throw new ToolstackError('CFG_VALUE', line, { lines: [line], hint: HINT });
  }
  const text = item.slice(eq + 1);
  const r = strtoul(text, 0);
  if (text === '' || r.overflow || r.end !== text.length || r.value > 0xffffffffn) {
    const line = `Quota specification "${item}" uses illegal value "${text}".`;
    throw new ToolstackError('CFG_VALUE', line, { lines: [line], hint: HINT });
  }
  return { name: item.slice(0, eq), value: Number(r.value) };
}
