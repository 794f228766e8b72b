/**
 * IDL types as JSON Schema (2020-12): what `idlFromJson` accepts, so an API document can describe
 * libxl's JSON without a hand-written copy of the IDL. Two rules of `idlFromJson` are not in the
 * schema (it accepts more): a 64-bit integer given as digits must lie beyond 2^53 and below 2^64,
 * and a keyed union has at most one `"<keyvar>.<member>"` key.
 */
import { BugError } from '../../common/index.js';
import { UUID_PATTERN } from '../spec/c-parse.js';
import { CPUID_REGS } from './cpuid.js';
import type { IdlFields, IdlStruct, IdlType, IntWidth } from './idl.js';
import { INT_RANGES, MAC_PATTERN } from './idl-json.js';

export type JsonSchema = Readonly<Record<string, unknown>>;

function intSchema(width: IntWidth): JsonSchema {
  if (width !== 'u64') return { type: 'integer', minimum: Number(INT_RANGES[width][0]), maximum: Number(INT_RANGES[width][1]) };
  return { anyOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'string', pattern: '^[0-9]+$' }] };
}
const U32 = intSchema('u32');
const chars = (n: number): JsonSchema => ({ type: 'string', minLength: n, maxLength: n });

/** `libxl_cpuid_policy_list` as `cpuidFromJson` reads it. */
const CPUID: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cpuid: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['leaf'],
        properties: { leaf: U32, subleaf: U32, ...Object.fromEntries(CPUID_REGS.map((r) => [r, chars(32)])) },
      },
    },
    msr: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['index', 'policy'], properties: { index: U32, policy: chars(64) } } },
  },
};

/**
 * The JSON Schema of each struct of `named`, keyed as it is; inside them a struct that is one of
 * `named` (the same object) is a `$ref` to `ref(its name)`.
 */
export function idlJsonSchemas<N extends string>(named: Readonly<Record<N, IdlStruct>>, ref: (name: N) => string): Record<N, JsonSchema> {
  const entries = Object.entries(named) as Array<[N, IdlStruct]>;
  const names = new Map<IdlType, N>(entries.map(([n, s]) => [s, n]));
  const schema = (t: IdlType): JsonSchema => {
    switch (t.k) {
      case 'bool': return { type: 'boolean' };
      case 'defbool': return { enum: ['True', 'False', '<default>'] };
      case 'int': return intSchema(t.width);
      case 'string': return { type: 'string' };
      case 'enum': return { enum: [...t.values, null] };
      case 'uuid': return { type: 'string', pattern: UUID_PATTERN.source };
      case 'mac': return { type: 'string', pattern: MAC_PATTERN.source };
      case 'bitmap': return { type: 'array', items: U32 };
      case 'bytes': return { type: 'array', items: intSchema('u8'), minItems: t.length, maxItems: t.length };
      case 'string_list': return { type: 'array', items: { type: 'string' } };
      case 'kv_list': return { type: 'object', additionalProperties: { type: 'string' } };
      case 'cpuid': return CPUID;
      case 'array': return { type: 'array', items: schema(t.of) };
      case 'struct': {
        const name = names.get(t);
        return name === undefined ? struct(t.fields) : { $ref: ref(name) };
      }
      case 'union': throw new BugError('a keyed union is described by its struct');
    }
  };
  const struct = (fields: IdlFields): JsonSchema => {
    const properties: Record<string, JsonSchema> = {};
    for (const [name, field] of Object.entries(fields)) {
      const t = field.type;
      if (field.noJson === true) continue;
      if (t.k !== 'union') properties[name] = schema(t);
      else for (const [member, s] of Object.entries(t.members)) properties[`${t.keyvar}.${member}`] = s === null ? struct({}) : schema(s);
    }
    return { type: 'object', properties, additionalProperties: false };
  };
  return Object.fromEntries(entries.map(([n, s]) => [n, struct(s.fields)])) as Record<N, JsonSchema>;
}
