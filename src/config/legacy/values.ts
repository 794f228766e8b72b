// The values of a legacy config's evaluation, Python's subset: what they are, and Python's
// truth, equality, names and printed forms of them.
import type { EvalContext } from './errors.js';
import { fail } from './errors.js';

/** Python values the subset has; `func` is a builtin, a module's function or a bound method. */
export type Value =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'none' }
  | { readonly t: 'list' | 'tuple'; readonly v: readonly Value[] }
  | { readonly t: 'module'; readonly v: 'os' | 're' }
  | { readonly t: 'func'; readonly v: string; readonly self?: Value }
  | { readonly t: 'match'; readonly v: string };

/** The longest string a config may build (by +, *, % or a string method). */
const MAX_STRING = 1 << 20;

/** `v` as a string value; longer than MAX_STRING fails. */
export function str(ctx: EvalContext, v: string, line: number): Value {
  if (v.length > MAX_STRING) fail(ctx, line, 'string too long');
  return { t: 'str', v };
}

/** How many times a string of `len` characters may be repeated `n` times (0 for n <= 0). */
export function repeatCount(ctx: EvalContext, len: number, n: bigint, line: number): number {
  if (n <= 0n) return 0;
  if (BigInt(len) * n > BigInt(MAX_STRING)) fail(ctx, line, 'string too long');
  return Number(n);
}

export function isNum(v: Value): v is { t: 'int'; v: bigint } | { t: 'bool'; v: boolean } {
  return v.t === 'int' || v.t === 'bool';
}

export function intOf(v: Value): bigint {
  if (v.t === 'int') return v.v;
  if (v.t === 'bool') return v.v ? 1n : 0n;
  return 0n;
}

export function truthy(v: Value): boolean {
  switch (v.t) {
    case 'str':
      return v.v !== '';
    case 'int':
      return v.v !== 0n;
    case 'bool':
      return v.v;
    case 'none':
      return false;
    case 'list':
    case 'tuple':
      return v.v.length > 0;
    default:
      return true;
  }
}

export function equal(a: Value, b: Value): boolean {
  if (isNum(a) && isNum(b)) return intOf(a) === intOf(b);
  if (a.t === 'str' && b.t === 'str') return a.v === b.v;
  if (a.t === 'none' || b.t === 'none') return a.t === b.t;
  if ((a.t === 'list' || a.t === 'tuple') && a.t === b.t) return a.v.length === b.v.length && a.v.every((x, i) => equal(x, b.v[i] as Value));
  return false;
}

export function typeName(v: Value): string {
  return v.t === 'func' ? 'function' : v.t === 'none' ? 'NoneType' : v.t;
}

export function display(v: Value): string {
  switch (v.t) {
    case 'str':
      return v.v;
    case 'int':
      return v.v.toString();
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'none':
      return 'None';
    default:
      return repr(v);
  }
}

export function repr(v: Value): string {
  switch (v.t) {
    case 'str':
      return `'${v.v.replace(/\\/g, '\\\\').replace(/'/g, '\\\'')}'`;
    case 'list':
      return `[${v.v.map(repr).join(', ')}]`;
    case 'tuple':
      return v.v.length === 1 ? `(${repr(v.v[0] as Value)},)` : `(${v.v.map(repr).join(', ')})`;
    case 'module':
      return `<module '${v.v}'>`;
    case 'func':
      return `<built-in function ${v.v}>`;
    case 'match':
      return '<match object>';
    default:
      return display(v);
  }
}
