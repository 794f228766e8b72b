import type { CfgDocument, CfgValue } from './types.js';

/** A value as `xl config-parse --raw` prints it: every atom a string, lists nested. */
export type RawCfgValue = string | RawCfgValue[];

/** One setting as `xl config-parse --raw` prints it (file order; `+=` holds the combined value). */
export interface RawCfgSetting {
  readonly name: string;
  readonly op: '=' | '+=';
  readonly value: RawCfgValue;
  readonly line: number;
}

export function rawCfgValue(v: CfgValue): RawCfgValue {
  return v.kind === 'atom' ? v.value : v.items.map(rawCfgValue);
}

export function rawCfgSettings(doc: CfgDocument): RawCfgSetting[] {
  return doc.settings.map((s) => ({ name: s.name, op: s.op, value: rawCfgValue(s.value), line: s.line }));
}
