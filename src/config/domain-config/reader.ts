/**
 * The reads `parse_config_data` makes of a parsed config, through the cfg getters (Xen's
 * semantics and warnings), collecting the warnings in order and remembering which keys were read
 * (the others are unknown to xl).
 */
import { cfgBool, cfgList, cfgListItem, cfgLong, cfgString } from '../cfg/access.js';
import type { CfgDocument, CfgList, CfgSetting } from '../cfg/types.js';

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

  #sink(quiet: boolean): { warnings?: string[] } {
    return quiet ? {} : { warnings: this.warnings };
  }

  /** `xlu_cfg_get_string`: an atom's text; a list warns (unless quiet) and reads as absent. */
  string(key: string, quiet = false): string | undefined {
    this.#used.add(key);
    return cfgString(this.doc, key, this.#sink(quiet));
  }

  /** `xlu_cfg_get_long`: a list, a `+=` setting or a non-number warns (unless quiet), reads as absent. */
  long(key: string, quiet = false): number | undefined {
    this.#used.add(key);
    return cfgLong(this.doc, key, this.#sink(quiet));
  }

  /** Like `long`, telling apart "absent" (ESRCH) from "present but not a number" (EINVAL/ERANGE). */
  longResult(key: string, quiet = false): { kind: 'ok'; value: number } | { kind: 'absent' } | { kind: 'invalid' } {
    if (this.setting(key) === undefined) return { kind: 'absent' };
    const v = this.long(key, quiet);
    return v === undefined ? { kind: 'invalid' } : { kind: 'ok', value: v };
  }

  /** `xlu_cfg_get_defbool`: a number, 0 false, anything else true. */
  bool(key: string, quiet = false): boolean | undefined {
    this.#used.add(key);
    return cfgBool(this.doc, key, this.#sink(quiet));
  }

  /** `xlu_cfg_get_list`: a single value warns (unless quiet) and reads as absent. */
  list(key: string, quiet = false): CfgList | undefined {
    const s = this.setting(key);
    return cfgList(this.doc, key, this.#sink(quiet)) === undefined ? undefined : s?.value as CfgList;
  }

  /** The items of list `key` (`xlu_cfg_get_list` + `xlu_cfg_get_listitem`), or undefined. */
  listItems(key: string): string[] | undefined {
    const l = this.list(key);
    return l === undefined ? undefined : CfgReader.items(l);
  }

  /** Is `key` set to a list (as opposed to an atom)? */
  isList(key: string): boolean {
    return this.setting(key)?.value.kind === 'list';
  }

  /** The atoms of a list up to its first nested list (`xlu_cfg_get_listitem` stops there). */
  static items(list: CfgList): string[] {
    const out: string[] = [];
    for (let i = 0, v = cfgListItem(list.items, 0); v !== undefined; v = cfgListItem(list.items, ++i)) out.push(v);
    return out;
  }
}

