/**
 * The xl.cfg value store, as Xen's libxlutil keeps it: every atom (quoted string or NUMBER) is a
 * string; lists nest. Positions are 1-based lines in the source that was parsed.
 */
export type CfgValue = CfgAtom | CfgList;

export interface CfgAtom {
  readonly kind: 'atom';
  /** The dequoted text (NUMBER tokens as written). */
  readonly value: string;
  /** True for a quoted string, false for a NUMBER token (both are strings to Xen). */
  readonly quoted: boolean;
  readonly line: number;
}

export interface CfgList {
  readonly kind: 'list';
  readonly items: readonly CfgValue[];
  readonly line: number;
}

/** One statement `name = value` or `name += value`. For `+=`, `value` is the combined value. */
export interface CfgSetting {
  readonly name: string;
  readonly op: '=' | '+=';
  readonly value: CfgValue;
  readonly line: number;
}

/** A parsed config source: every setting in file order; the last one of a name wins. */
export interface CfgDocument {
  /** The name used in messages: the file path as given, or `command line`. */
  readonly source: string;
  readonly settings: readonly CfgSetting[];
  /** Warnings met while reading (e.g. the legacy-config notice), each one full line. */
  readonly warnings: readonly string[];
  /** The text read, when the document came from a file (`readCfgFile`): the file, then the extra lines. */
  readonly text?: string;
}
