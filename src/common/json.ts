/**
 * `JSON.stringify` for dom0's data, which may hold bigints (libxl's 64-bit fields): a bigint
 * becomes a JSON number when it is a safe integer, else its decimal digits as a string. Beside
 * what JSON escapes itself (C0 controls), the characters a terminal acts on (see UNSHOWABLE) are
 * written as `\uXXXX` escapes: the same JSON to a parser, and text a terminal shows as it is when
 * the JSON is printed (`xl --json` of a name with U+009B in it).
 */
export function toJson(value: unknown, indent?: number): string {
  // JSON.stringify gives undefined for undefined (and functions), as it is typed not to.
  return (JSON.stringify(value, bigintReplacer, indent) as string | undefined)?.replace(JSON_UNSHOWABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) as string;
}

/**
 * The characters a terminal acts on beyond C0, as a regular expression's character-class body:
 * DEL, C1 controls (U+009B is CSI, U+009D OSC to a terminal), the line and paragraph separators,
 * the text-direction marks, overrides and isolates (U+202E reverses what follows it on the line;
 * U+200F, an invisible right-to-left letter, reorders what is around it), and the invisible
 * zero-width space, word joiner and BOM (`g` and `g` + U+200B look alike). JSON writers leave
 * them as they are.
 */
export const TERMINAL_CONTROLS_BEYOND_C0 = '\\x7f-\\x9f\\u061c\\u200b\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff';

const JSON_UNSHOWABLE = new RegExp(`[${TERMINAL_CONTROLS_BEYOND_C0}]`, 'gu');

function bigintReplacer(_key: string, v: unknown): unknown {
  if (typeof v !== 'bigint') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

/** Characters a terminal acts on rather than shows: C0 controls but tab (newline too, unless kept), and TERMINAL_CONTROLS_BEYOND_C0. */
const UNSHOWABLE = new RegExp(`[\\x00-\\x08\\x0a-\\x1f${TERMINAL_CONTROLS_BEYOND_C0}]`, 'gu');
/** The same but line breaks: `\n`, and `\r` before one (QEMU's monitor ends its lines so). */
const UNSHOWABLE_BUT_NEWLINE = new RegExp(`\\r(?!\\n)|[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f${TERMINAL_CONTROLS_BEYOND_C0}]`, 'gu');

/**
 * `text` as it may go to a terminal or a log line: each character of UNSHOWABLE written as an
 * escape (`\x1b`, `\n`, `\u202e`), so that text from a config, a file name or a guest cannot move
 * the cursor, rewrite the screen or the clipboard, or add a line that seems to be xl's own.
 * `newlines` keeps line breaks (text of several lines; `\r\n` too).
 */
export function terminalSafe(text: string, newlines = false): string {
  return text.replace(newlines ? UNSHOWABLE_BUT_NEWLINE : UNSHOWABLE, (c) => {
    const n = c.charCodeAt(0);
    return c === '\n' ? '\\n' : c === '\r' ? '\\r' : n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16)}`;
  });
}

/**
 * A value as an error message quotes it: JSON (so control characters and quotes are escaped),
 * cut to `max` characters; a list or object nested too deep to write, by its kind.
 */
export function shownValue(v: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof v === 'bigint' ? v.toString() : JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? `[${v.length} items, nested too deep to show]` : '{nested too deep to show}';
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** Whether JSON value `v` nests lists and objects more than `limit` deep (walked without recursion). */
export function nestsDeeperThan(v: unknown, limit: number): boolean {
  let level: unknown[] = [v];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const x of level) {
      if (typeof x === 'object' && x !== null) for (const y of Object.values(x)) next.push(y);
    }
    level = next;
  }
  return false;
}

/**
 * What `table` holds under `key` as its own entry, never what every object inherits
 * (`constructor`, `toString`, `__proto__`): the lookup for tables keyed by what a user wrote.
 */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
