import type { CfgDocument, CfgList, CfgSetting, CfgValue } from './types.js';

/**
 * Typed access to a parsed config with the semantics of libxlutil's getters (grammar.md §1.4):
 * the last setting of a name wins; a getter returns `undefined` when the name is absent or its
 * value does not fit, and then pushes Xen's warning line (`SOURCE:LINE: warning: ...`) into
 * `options.warnings` (no sink = Xen's `dont_warn`).
 */

/** Where getters put Xen-worded warning lines; a `string[]` is one. */
export interface CfgWarningSink {
  push(line: string): unknown;
}

export interface CfgGetOptions {
  /** Receives the warning when the value does not fit; omitted: stay silent. */
  readonly warnings?: CfgWarningSink;
}

export interface CfgLongOptions extends CfgGetOptions {
  /** Bounds of `xlu_cfg_get_bounded_long` (inclusive). */
  readonly min?: number;
  readonly max?: number;
}

/** The setting that a lookup of `name` sees (the last one), or undefined. */
export function lastSetting(doc: CfgDocument, name: string): CfgSetting | undefined {
  for (let i = doc.settings.length - 1; i >= 0; i--) {
    const s = doc.settings[i] as CfgSetting;
    if (s.name === name) return s;
  }
  return undefined;
}

function warn(doc: CfgDocument, options: CfgGetOptions | undefined, line: number, text: string): undefined {
  options?.warnings?.push(`${doc.source}:${line}: warning: ${text}`);
  return undefined;
}

/** The single (atom) setting of `name`; a list warns `is a list but should be a single value`. */
function atomSetting(doc: CfgDocument, name: string, options?: CfgGetOptions): (CfgSetting & { value: { kind: 'atom' } }) | undefined {
  const s = lastSetting(doc, name);
  if (s === undefined) return undefined;
  if (s.value.kind !== 'atom') return warn(doc, options, s.line, `parameter \`${name}' is a list but should be a single value`);
  return s as CfgSetting & { value: { kind: 'atom' } };
}

/** `xlu_cfg_get_string`. */
export function cfgString(doc: CfgDocument, name: string, options?: CfgGetOptions): string | undefined {
  return atomSetting(doc, name, options)?.value.value;
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * C's `strtol(s, &end, 0)` on a 64-bit host: leading whitespace, a sign, `0x` hex, leading-`0`
 * octal, else decimal. Returns the value (clamped on overflow), how many characters were used
 * (0 when no digits), and whether it overflowed.
 */
export function strtol0(s: string): { value: bigint; used: number; overflow: boolean } {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i] as string)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let base = 10;
  let digits = '0123456789';
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    digits = '0123456789abcdef';
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
    digits = '01234567';
  }
  const from = i;
  let value = 0n;
  while (i < s.length && digits.includes((s[i] as string).toLowerCase())) {
    value = value * BigInt(base) + BigInt(digits.indexOf((s[i] as string).toLowerCase()));
    i++;
  }
  if (i === from) return { value: 0n, used: 0, overflow: false };
  if (negative) value = -value;
  const overflow = value < LONG_MIN || value > LONG_MAX;
  if (overflow) value = negative ? LONG_MIN : LONG_MAX;
  return { value, used: i, overflow };
}

/**
 * `xlu_cfg_get_long` / `xlu_cfg_get_bounded_long`: the whole string must be a C long
 * (strtol base 0); a setting made with `+=` is refused. Values beyond 2^53 lose precision.
 */
export function cfgLong(doc: CfgDocument, name: string, options?: CfgLongOptions): number | undefined {
  const s = atomSetting(doc, name, options);
  if (s === undefined) return undefined;
  if (s.op === '+=') return warn(doc, options, s.line, `can't use += with numbers for parameter \`${name}'`);
  const text = s.value.value;
  const r = strtol0(text);
  if (r.overflow) {
    return warn(doc, options, s.line, `parameter \`${name}' could not be parsed as a number: Numerical result out of range`);
  }
  if (r.used === 0 || r.used !== text.length) return warn(doc, options, s.line, `parameter \`${name}' is not a valid number`);
  if (options?.min !== undefined && r.value < BigInt(options.min)) {
    return warn(doc, options, s.line, `value \`${r.value}' is smaller than minimum bound '${options.min}'`);
  }
  if (options?.max !== undefined && r.value > BigInt(options.max)) {
    return warn(doc, options, s.line, `value \`${r.value}' is greater than maximum bound '${options.max}'`);
  }
  return Number(r.value);
}

/** `xlu_cfg_get_defbool`: a number, 0 false and anything else true. */
export function cfgBool(doc: CfgDocument, name: string, options?: CfgGetOptions): boolean | undefined {
  const n = cfgLong(doc, name, options);
  return n === undefined ? undefined : n !== 0;
}

/** `xlu_cfg_get_list`: the items of a list setting; a single value warns. */
export function cfgList(doc: CfgDocument, name: string, options?: CfgGetOptions): readonly CfgValue[] | undefined {
  const s = lastSetting(doc, name);
  if (s === undefined) return undefined;
  if (s.value.kind !== 'list') return warn(doc, options, s.line, `parameter \`${name}' is a single value but should be a list`);
  return s.value.items;
}

/** `xlu_cfg_get_listitem`: item `i` as a string; a nested list (or no such item) is undefined. */
export function cfgListItem(items: readonly CfgValue[], i: number): string | undefined {
  const v = items[i];
  return v?.kind === 'atom' ? v.value : undefined;
}

/** `xlu_cfg_get_list_as_string_list`: every item as a string (nested lists are undefined). */
export function cfgStringList(doc: CfgDocument, name: string, options?: CfgGetOptions): Array<string | undefined> | undefined {
  const items = cfgList(doc, name, options);
  return items?.map((_, i) => cfgListItem(items, i));
}

/**
 * `xlu_cfg_value_get_string` for a value found inside a list (e.g. one `vnuma` node):
 * a nested list warns `SOURCE:LINE:0: warning: value is not a string` (the column of Xen 4.17's
 * value locations is always 0).
 */
export function cfgValueString(doc: CfgDocument, value: CfgValue, options?: CfgGetOptions): string | undefined {
  if (value.kind === 'atom') return value.value;
  options?.warnings?.push(`${doc.source}:${value.line}:0: warning: value is not a string`);
  return undefined;
}

/** `xlu_cfg_value_get_list` for a value found inside a list (column 0, as above). */
export function cfgValueList(doc: CfgDocument, value: CfgValue, options?: CfgGetOptions): CfgList | undefined {
  if (value.kind === 'list') return value;
  options?.warnings?.push(`${doc.source}:${value.line}:0: warning: value is not a list`);
  return undefined;
}

/**
 * A key xl accepts as either a string or a list (`cpus`, `serial`, `usbdevice`, `viridian`, ...):
 * xl tries the list silently, then the string; no warning either way.
 */
export function cfgStringOrList(doc: CfgDocument, name: string): string | CfgList | undefined {
  const s = lastSetting(doc, name);
  if (s === undefined) return undefined;
  return s.value.kind === 'atom' ? s.value.value : s.value;
}
