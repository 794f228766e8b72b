/**
 * Typed reads of a parsed config with libxlutil's semantics (`xlu_cfg_get_*`): the last setting
 * of a key wins; a read of the wrong shape prints Xen's warning (unless `quiet`) and reads as
 * absent. Warnings are collected in order, as xl prints them to stderr.
 */
import type { CfgDocument, CfgList, CfgSetting, CfgValue } from '../cfg/types.js';

export class CfgReader {
  readonly warnings: string[] = [];
  readonly #last = new Map<string, CfgSetting>();
  readonly #used = new Set<string>();

  constructor(readonly doc: CfgDocument) {
    for (const s of doc.settings) this.#last.set(s.name, s);
  }

  /** The setting a lookup of `key` finds (the last one), marking the key as used. */
  setting(key: string): CfgSetting | undefined {
    this.#used.add(key);
    return this.#last.get(key);
  }

  /** Keys set in the document that no read has asked for. */
  unusedKeys(): CfgSetting[] {
    return [...this.#last.values()].filter((s) => !this.#used.has(s.name)).sort((a, b) => a.line - b.line);
  }

  line(key: string): number | undefined {
    return this.#last.get(key)?.line;
  }

  warn(line: string): void {
    this.warnings.push(line);
  }

  #where(s: CfgSetting): string {
    return `${this.doc.source}:${s.line}`;
  }

  /** `xlu_cfg_get_string`: an atom's text; a list warns (unless quiet) and reads as absent. */
  string(key: string, quiet = false): string | undefined {
    const s = this.setting(key);
    if (s === undefined) return undefined;
    if (s.value.kind !== 'atom') {
      if (!quiet) this.warn(`${this.#where(s)}: warning: parameter \`${key}' is a list but should be a single value`);
      return undefined;
    }
    return s.value.value;
  }

  /**
   * `xlu_cfg_get_long`: C `strtol(s, &end, 0)` over the whole atom. A list, a `+=` setting or
   * text that is not a number warns (unless quiet) and reads as absent.
   */
  long(key: string, quiet = false): number | undefined {
    const r = this.longResult(key, quiet);
    return r.kind === 'ok' ? r.value : undefined;
  }

  /** Like `long`, telling apart "absent" (ESRCH) from "present but not a number" (EINVAL/ERANGE). */
  longResult(key: string, quiet = false): { kind: 'ok'; value: number } | { kind: 'absent' } | { kind: 'invalid' } {
    const s = this.setting(key);
    if (s === undefined) return { kind: 'absent' };
    const warn = (msg: string): { kind: 'invalid' } => {
      if (!quiet) this.warn(`${this.#where(s)}: warning: parameter \`${key}' ${msg}`);
      return { kind: 'invalid' };
    };
    if (s.value.kind !== 'atom') return warn('is a list but should be a single value');
    if (s.op === '+=') return warn('can\'t use += with numbers');
    const n = strtol(s.value.value);
    if (n === 'range') return warn('could not be parsed as a number: Numerical result out of range');
    if (n === undefined) return warn('is not a valid number');
    return { kind: 'ok', value: n };
  }

  /** `xlu_cfg_get_defbool`: a number, 0 false, anything else true. */
  bool(key: string, quiet = false): boolean | undefined {
    const n = this.long(key, quiet);
    return n === undefined ? undefined : n !== 0;
  }

  /** `xlu_cfg_get_list`: a single value warns (unless quiet) and reads as absent. */
  list(key: string, quiet = false): CfgList | undefined {
    const s = this.setting(key);
    if (s === undefined) return undefined;
    if (s.value.kind !== 'list') {
      if (!quiet) this.warn(`${this.#where(s)}: warning: parameter \`${key}' is a single value but should be a list`);
      return undefined;
    }
    return s.value;
  }

  /** Is `key` set to a list (as opposed to an atom)? */
  isList(key: string): boolean {
    return this.setting(key)?.value.kind === 'list';
  }

  /** The atoms of a list up to its first nested list (`xlu_cfg_get_listitem` stops there). */
  static items(list: CfgList): string[] {
    const out: string[] = [];
    for (const v of list.items) {
      if (v.kind !== 'atom') break;
      out.push(v.value);
    }
    return out;
  }
}

/** The string of an atom value, or undefined for a list (`xlu_cfg_get_listitem`'s NULL). */
export function atomText(v: CfgValue | undefined): string | undefined {
  return v?.kind === 'atom' ? v.value : undefined;
}

const LONG_MAX = 2n ** 63n - 1n;

/** C `strtol(s, &end, 0)` requiring the whole string to be used; 'range' on overflow. */
export function strtol(s: string): number | 'range' | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return undefined;
  const digits = m[2] as string;
  let v = digits.length > 1 && digits[0] === '0' && (digits[1] === 'x' || digits[1] === 'X')
    ? BigInt(digits)
    : digits.length > 1 && digits[0] === '0' ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (m[1] === '-') v = -v;
  if (v > LONG_MAX || v < -LONG_MAX - 1n) return 'range';
  return Number(v);
}
