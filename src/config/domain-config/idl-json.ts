/**
 * IDL values ↔ libxl's JSON. `idlToJson` writes what libxl's generated `*_gen_json` functions
 * write: keys in IDL field order, and a field equal to its default left out:
 * - structs are always written, possibly empty (but see `emitWhenSet`); a keyed union is
 *   written under `"<keyvar>.<member>"` (`"type.hvm"`), its key variable itself never;
 * - arrays are written when non-empty, every element in full;
 * - integers are left out when equal to their `init`, enums when equal to theirs, C bools
 *   when false, strings when unset (an empty string is written), defbools when unset,
 *   bitmaps / string lists / key-value lists when empty, uuids / macs / byte arrays when all zero.
 *
 * `idlFromJson` reads that JSON back into the typed value, strictly: it is what a config arriving
 * over the API is validated with. Besides what `idlToJson` writes it accepts what libxl's parser
 * accepts of the same shape: `"<default>"` for an unset defbool, upper-case hex in uuids and macs
 * (kept lower-case), and a 64-bit integer as a decimal string when it is beyond 2^53 (as
 * `toJson` in common/json.ts sends it). An enum's `null` (a value with no name, as xl's
 * uninitialised rdm policy leaves it) is kept as null, so it is written back as null.
 */
import { BugError, ToolstackError, shownValue } from '../../common/index.js';
import type { LibxlJsonObject, LibxlJsonValue } from '../libxl-json.js';
import { parseUuid } from '../spec/c-parse.js';
import { cpuidFromJson, cpuidToJson } from './cpuid.js';
import type { CpuidPolicy } from './cpuid.js';
import type { IdlFields, IdlStruct, IdlType, IdlValue, IntWidth } from './idl.js';

/** The values a C integer of each width holds. */
export const INT_RANGES: Readonly<Record<IntWidth, readonly [bigint, bigint]>> = {
  i32: [-(2n ** 31n), 2n ** 31n - 1n],
  u8: [0n, 255n],
  u16: [0n, 65535n],
  u32: [0n, 2n ** 32n - 1n],
  u64: [0n, 2n ** 64n - 1n],
};

/** `v` as a C integer of `width` holds it (assignment from a wider type wraps). */
function cInt(width: IntWidth, v: number | bigint): bigint {
  const b = BigInt(v);
  return width === 'i32' ? BigInt.asIntN(32, b) : BigInt.asUintN(Number(width.slice(1)), b);
}

function isDefault(t: IdlType, v: unknown): boolean {
  if (v === undefined) return true;
  switch (t.k) {
    case 'bool': return v === false;
    case 'int': return v === t.init || cInt(t.width, v as number | bigint) === cInt(t.width, t.init);
    case 'enum': return v !== null && v === t.init;
    case 'bitmap': case 'string_list': case 'array': return (v as unknown[]).length === 0;
    case 'bytes': return (v as number[]).every((b) => b === 0);
    case 'kv_list': return Object.keys(v as object).length === 0;
    case 'cpuid': return (v as CpuidPolicy).cpuid.length + (v as CpuidPolicy).msr.length === 0;
    case 'uuid': case 'mac': return /^[0:-]+$/.test(v as string);
    default: return false;
  }
}

function valueToJson(t: IdlType, v: unknown): LibxlJsonValue {
  switch (t.k) {
    case 'bool': return v as boolean;
    case 'defbool': return v === true ? 'True' : 'False';
    case 'int': {
      const n = cInt(t.width, v as number | bigint);
      return n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n;
    }
    case 'string': case 'uuid': case 'mac': return v as string;
    case 'enum': return v as string | null;
    case 'bitmap': case 'string_list': case 'bytes': return [...(v as Array<number | string>)];
    case 'kv_list': return { ...(v as Record<string, string>) };
    case 'cpuid': return cpuidToJson(v as CpuidPolicy);
    case 'array': return (v as unknown[]).map((e) => valueToJson(t.of, e));
    case 'struct': return structToJson(t.fields, (v ?? {}) as Record<string, unknown>);
    case 'union': throw new BugError('a keyed union is written by its struct');
  }
}

function structToJson(fields: IdlFields, v: Record<string, unknown>): LibxlJsonObject {
  const out: Record<string, LibxlJsonValue> = {};
  for (const [name, field] of Object.entries(fields)) {
    if (field.noJson === true) continue;
    const t = field.type;
    const fv = v[name];
    if (t.k === 'union') {
      const member = v[t.keyvar];
      if (typeof member !== 'string' || !Object.hasOwn(t.members, member)) continue;
      const ms = t.members[member];
      const mv = (fv as Record<string, unknown> | undefined)?.[member] ?? {};
      out[`${t.keyvar}.${member}`] = ms === null || ms === undefined ? {} : structToJson(ms.fields, mv as Record<string, unknown>);
      continue;
    }
    if (t.k === 'struct') {
      const sv = structToJson(t.fields, (fv ?? {}) as Record<string, unknown>);
      if (field.emitWhenSet === true && Object.keys(sv).length === 0) continue;
      out[name] = sv;
      continue;
    }
    if (isDefault(t, fv)) continue;
    out[name] = valueToJson(t, fv);
  }
  return out;
}

/** The JSON object libxl's `libxl_<type>_to_json` writes for a value of struct type `s`. */
export function idlToJson<S extends IdlStruct>(s: S, value: IdlValue<S>): LibxlJsonObject {
  return structToJson(s.fields, value);
}

/** A JSON value that does not fit the IDL at `path` (CONFIG_SCHEMA). */
function schemaError(path: string, what: string): ToolstackError {
  return new ToolstackError('CONFIG_SCHEMA', `Invalid libxl JSON at ${path === '' ? 'the top level' : path}: ${what}`, {
    hint: 'a domain config is libxl_domain_config as `xl -N create` prints it',
  });
}

/** A mac as libxl's JSON parser takes it: six hex bytes of either case, colon-separated. */
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Reports a value that does not fit at `path`: never returns. */
export type JsonFail = (path: string, what: string) => never;

const fail: JsonFail = (path, what) => {
  throw schemaError(path, what);
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

/** An integer of C type `width`: a number, a bigint, or (beyond 2^53) a string of decimal digits. */
function intFromJson(width: IntWidth, v: unknown, path: string): number | bigint {
  let n: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'bigint') n = v;
  else if (typeof v === 'string' && /^-?[0-9]+$/.test(v) && !Number.isSafeInteger(Number(v))) n = BigInt(v);
  else if (Number.isInteger(v)) return fail(path, `${shownValue(v)} is beyond 2^53, where a JSON number loses digits (give its digits as a string)`);
  else return fail(path, `expected an integer, got ${shownValue(v)}`);
  const [lo, hi] = INT_RANGES[width];
  if (n < lo || n > hi) fail(path, `${n} is out of range for ${width} (${lo} to ${hi})`);
  return width === 'u64' && !Number.isSafeInteger(Number(n)) ? n : Number(n);
}

function arrayFromJson<T>(v: unknown, path: string, each: (e: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) return fail(path, `expected an array, got ${shownValue(v)}`);
  return v.map((e, i) => each(e, at(path, i)));
}

function stringFromJson(v: unknown, path: string): string {
  return typeof v === 'string' ? v : fail(path, `expected a string, got ${shownValue(v)}`);
}

function valueFromJson(t: IdlType, v: unknown, path: string): unknown {
  switch (t.k) {
    case 'bool': return typeof v === 'boolean' ? v : fail(path, `expected true or false, got ${shownValue(v)}`);
    case 'defbool':
      if (v === 'True' || v === 'False') return v === 'True';
      return v === '<default>' ? undefined : fail(path, `expected "True", "False" or "<default>", got ${shownValue(v)}`);
    case 'int': return intFromJson(t.width, v, path);
    case 'string': return stringFromJson(v, path);
    case 'enum':
      if (v === null || (typeof v === 'string' && t.values.includes(v))) return v;
      return fail(path, `expected one of ${t.values.join(', ')}, got ${shownValue(v)}`);
    case 'uuid': return parseUuid(stringFromJson(v, path)) ?? fail(path, `malformed uuid ${shownValue(v)}`);
    case 'mac': {
      const s = stringFromJson(v, path);
      return MAC_PATTERN.test(s) ? s.toLowerCase() : fail(path, `malformed mac ${shownValue(v)}`);
    }
    case 'bitmap': return arrayFromJson(v, path, (e, p) => intFromJson('u32', e, p));
    case 'bytes': {
      const a = arrayFromJson(v, path, (e, p) => intFromJson('u8', e, p));
      return a.length === t.length ? a : fail(path, `expected ${t.length} bytes, got ${a.length}`);
    }
    case 'string_list': return arrayFromJson(v, path, stringFromJson);
    case 'kv_list':
      if (!isObject(v)) return fail(path, `expected an object, got ${shownValue(v)}`);
      return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, stringFromJson(e, at(path, k))]));
    case 'cpuid': return cpuidFromJson(v, path, fail);
    case 'array': return arrayFromJson(v, path, (e, p) => valueFromJson(t.of, e, p));
    case 'struct': return structFromJson(t, v, path);
    case 'union': throw new BugError('a keyed union is read by its struct');
  }
}

const EMPTY: IdlStruct = { k: 'struct', fields: {} };

function structFromJson(s: IdlStruct, v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) return fail(path, `expected an object, got ${shownValue(v)}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const p = at(path, key);
    const field = Object.hasOwn(s.fields, key) ? s.fields[key] : undefined;
    if (field !== undefined && field.noJson !== true && field.type.k !== 'union') {
      const fv = valueFromJson(field.type, value, p);
      if (fv !== undefined) out[key] = fv;
      continue;
    }
    const dot = key.indexOf('.');
    const u = Object.entries(s.fields).find(([, x]) => x.type.k === 'union' && x.type.keyvar === key.slice(0, dot));
    const t = u?.[1].type;
    const member = key.slice(dot + 1);
    if (dot < 0 || u === undefined || t?.k !== 'union' || !Object.hasOwn(t.members, member)) fail(p, 'no such field');
    if (out[t.keyvar] !== undefined) fail(p, `a second member of the union keyed by ${t.keyvar} (after ${shownValue(out[t.keyvar])})`);
    out[t.keyvar] = member;
    out[u[0]] = { [member]: structFromJson(t.members[member] ?? EMPTY, value, p) };
  }
  return out;
}

/**
 * The value of struct type `s` that libxl JSON `json` describes (the inverse of `idlToJson`).
 * Throws ToolstackError CONFIG_SCHEMA naming the path (`b_info.type.hvm.vga.kind`) and the value
 * at the first field that does not fit: unknown, of the wrong JSON type, out of its C type's
 * range, or not a name of its enum.
 */
export function idlFromJson<S extends IdlStruct>(s: S, json: unknown): IdlValue<S> {
  return structFromJson(s, json, '') as IdlValue<S>;
}
