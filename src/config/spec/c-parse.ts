/**
 * The C library and xl helpers that Xen's spec parsers lean on, with their exact edge cases:
 * `strtoul`/`strtoull` (leading blanks, sign, base 0 prefixes, stop at the first bad digit, wrap
 * of negatives, saturation), `atoi`, xl's `parse_ulong`, `strtok(",")` splitting with xl's
 * leading-space skip, `MATCH_OPTION`, and `split_string_into_pair` + `trim`.
 */
import { ToolstackError, trimWith } from '../../common/index.js';
import type { ErrorCode } from '../../common/index.js';

const ULONG_MAX = (1n << 64n) - 1n;

export interface StrtoulResult {
  /** The value as C's `unsigned long` (64-bit) holds it. */
  readonly value: bigint;
  /** Index of the first character not used; 0 when no digits were found (C's `endptr == str`). */
  readonly end: number;
  /** True when the magnitude did not fit (C returns ULONG_MAX and sets ERANGE). */
  readonly overflow: boolean;
}

const C_SPACE = /[ \t\n\v\f\r]/;

/** C `strtoul(s, &end, base)` for base 0, 8, 10 or 16 on a 64-bit `unsigned long`. */
export function strtoul(s: string, base: 0 | 8 | 10 | 16): StrtoulResult {
  let i = 0;
  while (i < s.length && C_SPACE.test(s[i] as string)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let radix: number = base;
  const hexPrefix = s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && isDigit(s[i + 2], 16);
  if ((base === 0 || base === 16) && hexPrefix) {
    radix = 16;
    i += 2;
  } else if (base === 0) {
    radix = s[i] === '0' ? 8 : 10;
  }
  const start = i;
  let value = 0n;
  let overflow = false;
  while (i < s.length && isDigit(s[i], radix)) {
    value = value * BigInt(radix) + BigInt(parseInt(s[i] as string, radix));
    if (value > ULONG_MAX) overflow = true;
    i++;
  }
  if (i === start) return { value: 0n, end: 0, overflow: false };
  if (overflow) return { value: ULONG_MAX, end: i, overflow: true };
  return { value: negative ? (ULONG_MAX + 1n - value) & ULONG_MAX : value, end: i, overflow: false };
}

function isDigit(c: string | undefined, radix: number): boolean {
  if (c === undefined) return false;
  const d = parseInt(c, 36);
  return !Number.isNaN(d) && d < radix && /[0-9a-zA-Z]/.test(c);
}

/** C `atoi`: decimal with optional blanks and sign, 0 when there are no digits; wraps to int. */
export function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(s);
  if (m === null) return 0;
  const v = BigInt(m[2] as string);
  return toInt32(m[1] === '-' ? -v : v);
}

/** Truncates a C integer to `int` (two's complement, as a cast does on every platform Xen runs on). */
export function toInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** Truncates to `uint32_t`. */
export function toUint32(v: bigint): number {
  return Number(BigInt.asUintN(32, v));
}

/** Truncates to `uint8_t`. */
export function toUint8(v: bigint): number {
  return Number(BigInt.asUintN(8, v));
}

/**
 * xl's `parse_ulong`: decimal `strtoul`; no digits or ULONG_MAX is fatal with
 * `xl: failed to convert "%s" to number`; trailing junk is ignored.
 */
export function parseUlong(s: string, code: ErrorCode, hint: string): bigint {
  const r = strtoul(s, 10);
  if (r.end === 0 || r.value === ULONG_MAX) {
    const line = `xl: failed to convert "${s}" to number`;
    throw new ToolstackError(code, line, { lines: [line], hint });
  }
  return r.value;
}

/**
 * xl's strtok style: `strtok(buf, ",")` (empty items vanish) and each item's leading spaces
 * (only ' ') skipped; trailing blanks stay.
 */
export function strtokItems(spec: string, delims = ','): string[] {
  return strtokItemsRaw(spec, delims).map((t) => t.replace(/^ +/, ''));
}

/** xl's `MATCH_OPTION(key, token, oparg)`: the value after an exact `key=` prefix, else undefined. */
export function matchOption(key: string, token: string): string | undefined {
  return token.startsWith(`${key}=`) ? token.slice(key.length + 1) : undefined;
}

/**
 * xl's `split_string_into_string_list(str, delim)`: `strtok_r` on the delimiter characters (empty
 * items vanish), items kept as they are.
 */
export function splitStringList(str: string, delim: string): string[] {
  return strtokItemsRaw(str, delim);
}

function strtokItemsRaw(str: string, delims: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const c of str) {
    if (delims.includes(c)) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * xl's `trim(isspace, ...)`. A loop, not a regular expression: `/[ ...]+$/` tries every run of
 * spaces to the end, quadratic in a value of spaces followed by a letter (80 KB took 6 s).
 */
export function trimC(s: string): string {
  return trimWith(s, ' \t\n\v\f\r');
}


/**
 * xl's `split_string_into_pair(str, delim)` and then `trim(isspace)` of both halves: `strtok_r`
 * twice, so the key is the first run of non-delimiter characters and the value only the second
 * run (`a=b=c` gives `a`/`b`); undefined when either is missing (xl's ERROR_INVAL).
 */
export function splitPairTrimmed(str: string, delim: string): { key: string; value: string } | undefined {
  const items = strtokItemsRaw(str, delim);
  if (items.length < 2) return undefined;
  return { key: trimC(items[0] as string), value: trimC(items[1] as string) };
}

/** What `parseUuid` accepts. */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `libxl_uuid_from_string` (libuuid's `uuid_parse`): 36 characters, hyphens at 8, 13, 18, 23; lower-cased. */
export function parseUuid(s: string): string | undefined {
  return UUID_PATTERN.test(s) ? s.toLowerCase() : undefined;
}

/** A spec item xl reads with complaints it prints and goes on after: the device, and those lines in order. */
export interface SpecResult<T> {
  readonly device: T;
  readonly warnings: readonly string[];
}

/** A spec error in Xen's words: `lines` are what Xen prints (the first is also the message). */
export function specError(code: ErrorCode, lines: readonly string[], hint: string): ToolstackError {
  return new ToolstackError(code, lines[0] ?? 'invalid specification', { lines, hint });
}

/**
 * Marks a line xl prints without its newline (libxlutil's `XLU__PCI_ERR` diagnostics): it runs on
 * into whatever xl prints next. `joinUnterminated` joins such lines to the next one.
 */
export const UNTERMINATED = '\u0000';

export function joinUnterminated(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const last = out[out.length - 1];
    if (last?.endsWith(UNTERMINATED) === true) out[out.length - 1] = last.slice(0, -1) + l;
    else out.push(l);
  }
  return out;
}

/**
 * `e` with `earlier` (lines xl had already printed, such as warnings about earlier tokens) in
 * front of its own lines, when it is a ToolstackError; anything else unchanged. For rethrowing.
 */
export function withEarlierLines(e: unknown, earlier: readonly string[]): unknown {
  if (!(e instanceof ToolstackError) || earlier.length === 0) return e;
  return new ToolstackError(e.code, e.message, {
    lines: joinUnterminated([...earlier, ...(e.lines ?? [e.message])]),
    exitCode: e.exitCode,
    cause: e,
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    ...(e.pos === undefined ? {} : { pos: e.pos }),
  });
}
