import { toJson } from '../../common/index.js';
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

/** Iterative, so the deepest lists Xen accepts (about 5,000 levels) cannot exhaust the JS stack. */
export function rawCfgValue(v: CfgValue): RawCfgValue {
  if (v.kind === 'atom') return v.value;
  const root: RawCfgValue[] = [];
  const work: Array<{ readonly from: readonly CfgValue[]; readonly to: RawCfgValue[] }> = [{ from: v.items, to: root }];
  for (let job = work.pop(); job !== undefined; job = work.pop()) {
    for (const item of job.from) {
      if (item.kind === 'atom') {
        job.to.push(item.value);
      } else {
        const to: RawCfgValue[] = [];
        job.to.push(to);
        work.push({ from: item.items, to });
      }
    }
  }
  return root;
}

export function rawCfgSettings(doc: CfgDocument): RawCfgSetting[] {
  return doc.settings.map((s) => ({ name: s.name, op: s.op, value: rawCfgValue(s.value), line: s.line }));
}

/**
 * `toJson(settings, 2)`, computed without recursion so that the deepest lists Xen
 * accepts print too (JSON.stringify exhausts the JS stack a little below 5,000 levels).
 */
export function formatRawCfgSettings(settings: readonly RawCfgSetting[]): string {
  if (settings.length === 0) return '[]';
  const parts = settings.map((s) =>
    `  {\n    "name": ${toJson(s.name)},\n    "op": ${toJson(s.op)},\n    "value": ${formatValue(s.value, 2)},\n    "line": ${s.line}\n  }`);
  return `[\n${parts.join(',\n')}\n]`;
}

function formatValue(value: RawCfgValue, depth: number): string {
  const out: string[] = [];
  const jobs: Array<{ readonly v: RawCfgValue; readonly depth: number } | string> = [{ v: value, depth }];
  for (let job = jobs.pop(); job !== undefined; job = jobs.pop()) {
    if (typeof job === 'string') {
      out.push(job);
    } else if (typeof job.v === 'string') {
      out.push(toJson(job.v));
    } else if (job.v.length === 0) {
      out.push('[]');
    } else {
      const inner = '  '.repeat(job.depth + 1);
      jobs.push(`\n${'  '.repeat(job.depth)}]`);
      for (let i = job.v.length - 1; i >= 0; i--) {
        jobs.push({ v: job.v[i] as RawCfgValue, depth: job.depth + 1 });
        jobs.push(i === 0 ? `[\n${inner}` : `,\n${inner}`);
      }
    }
  }
  return out.join('');
}
