/**
 * libxl's JSON, byte for byte: what libxl's generated `*_gen_json` functions emit through YAJL
 * with `yajl_gen_beautify` (the style Xen's `check-xl-*-parse` scripts expect).
 *
 * Layout (YAJL 2): 4-space indent; `"key": value`; every array element and object member on its
 * own line; `{`/`[` followed by a newline, `}`/`]` on a line of their own at the parent's
 * indent, so an empty object is `{\n\n<indent>}`; YAJL ends a complete top-level value with
 * `\n`, which stays in the string libxl hands back (`xl` then prints `disk: %s\n`).
 * Strings: `"` `\` and the control characters escaped (`\b \f \n \r \t`, others `\u00XX` with
 * upper-case hex), and those a terminal acts on beyond C0 (see yajlString); `/` is not escaped;
 * everything else verbatim. Integers in decimal.
 * Which members a struct has, and which are left out, is the IDL's (`idlToJson`).
 */
import { TERMINAL_CONTROLS_BEYOND_C0 } from '../common/index.js';

/** A value libxl can emit. Object members are written in insertion order; `undefined` members are skipped. */
export type LibxlJsonValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly LibxlJsonValue[]
  | LibxlJsonObject;

export interface LibxlJsonObject {
  readonly [key: string]: LibxlJsonValue | undefined;
}

const INDENT = '    ';

/** The YAJL-beautified text of `value`, including YAJL's final newline. */
export function libxlJson(value: LibxlJsonValue): string {
  const out: string[] = [];
  emit(value, 0, out);
  out.push('\n');
  return out.join('');
}

function emit(value: LibxlJsonValue, depth: number, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'string') {
    out.push(yajlString(value));
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`libxl JSON has integers only, got ${value}`);
    out.push(value === 0 ? '0' : String(value));
  } else if (typeof value === 'bigint') {
    out.push(value.toString());
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (isArray(value)) {
    out.push('[\n');
    value.forEach((item, i) => {
      if (i > 0) out.push(',\n');
      out.push(INDENT.repeat(depth + 1));
      emit(item, depth + 1, out);
    });
    out.push('\n', INDENT.repeat(depth), ']');
  } else {
    out.push('{\n');
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (!first) out.push(',\n');
      first = false;
      out.push(INDENT.repeat(depth + 1), yajlString(k), ': ');
      emit(v, depth + 1, out);
    }
    out.push('\n', INDENT.repeat(depth), '}');
  }
}

function isArray(v: LibxlJsonValue): v is readonly LibxlJsonValue[] {
  return Array.isArray(v);
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * A JSON string literal as `yajl_string_encode` writes it (solidus not escaped), but for the
 * characters a terminal acts on beyond C0 — DEL, C1 (U+009B is CSI), the line separators and the
 * text-direction ones — which yajl leaves as they are and this writes as `\uXXXX`: the same JSON,
 * shown as it is when printed.
 */
const YAJL_ESCAPED = new RegExp(`["\\\\\\x00-\\x1f${TERMINAL_CONTROLS_BEYOND_C0}]`, 'gu');

export function yajlString(s: string): string {
  return `"${s.replace(YAJL_ESCAPED, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)}"`;
}
