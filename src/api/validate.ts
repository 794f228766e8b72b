/**
 * dom0d's check of a request body against its operation's schema (schemas.ts, the same the
 * OpenAPI document publishes), before any handler sees it: a field of the wrong type, out of
 * range, or unknown (a typo) is one error naming where it is in the body (a JSON pointer) and
 * what was expected. Understands the keywords the schemas use: type, enum, anyOf, $ref, items,
 * minItems/maxItems, properties, required, additionalProperties, minimum/maximum, pattern,
 * minLength/maxLength.
 */
import { own, ToolstackError, shownValue } from '../common/index.js';
import type { JsonSchema } from '../config/index.js';
import type { ApiOperation } from './toolstack.js';
import { API_SCHEMAS, OPERATION_SCHEMAS, SCHEMA_REF } from './schemas.js';

/** Throws a USAGE error when `body` is not what operation `op` takes in its JSON body. */
export function checkRequestBody(op: ApiOperation, body: Readonly<Record<string, unknown>>): void {
  const spec = OPERATION_SCHEMAS[op] as { readonly request?: JsonSchema };
  const problem = spec.request === undefined
    ? Object.keys(body).length === 0 ? undefined : { at: '', text: `must be empty: the operation takes no fields (got ${Object.keys(body).map((k) => `'${k}'`).join(', ')})` }
    : mismatch(spec.request, body, '');
  if (problem !== undefined) {
    throw new ToolstackError('USAGE', `Bad API request: ${problem.at === '' ? 'the body' : problem.at} ${problem.text}`, {
      hint: 'see the operation\'s request schema in GET /openapi.json',
    });
  }
}

interface Mismatch {
  readonly at: string;
  readonly text: string;
}

/** Where `value` first differs from `schema` (depth first), or undefined when it conforms. */
function mismatch(schema: JsonSchema, value: unknown, at: string): Mismatch | undefined {
  const ref = schema['$ref'];
  if (typeof ref === 'string') return mismatch(resolve(ref), value, at);
  const anyOf = schema['anyOf'] as readonly JsonSchema[] | undefined;
  if (anyOf !== undefined) {
    const misses = anyOf.map((s) => mismatch(s, value, at));
    if (misses.some((m) => m === undefined)) return undefined;
    // The alternative whose miss is deepest is the one the value was meant to be.
    return misses.reduce((a, b) => ((b?.at.length ?? 0) > (a?.at.length ?? 0) ? b : a));
  }
  const fail = (text: string): Mismatch => ({ at, text: `${text} (got ${shownValue(value)})` });
  const enumerated = schema['enum'] as readonly unknown[] | undefined;
  if (enumerated !== undefined && !enumerated.includes(value)) return fail(`must be one of ${enumerated.map((v) => JSON.stringify(v)).join(', ')}`);
  const type = schema['type'];
  if (typeof type === 'string' && !isType(type, value)) return fail(`must be ${type === 'integer' ? 'an integer' : `a${/^[aeiou]/.test(type) ? 'n' : ''} ${type}`}`);
  if (typeof value === 'number') {
    const min = schema['minimum'];
    const max = schema['maximum'];
    if (typeof min === 'number' && value < min) return fail(`must be at least ${min}`);
    if (typeof max === 'number' && value > max) return fail(`must be at most ${max}`);
  }
  if (typeof value === 'string') {
    const pattern = schema['pattern'];
    const minLength = schema['minLength'];
    const maxLength = schema['maxLength'];
    if (typeof pattern === 'string' && !new RegExp(pattern, 'u').test(value)) return fail(`must match ${pattern}`);
    if (typeof minLength === 'number' && value.length < minLength) return fail(`must have at least ${minLength} characters`);
    if (typeof maxLength === 'number' && value.length > maxLength) return fail(`must have at most ${maxLength} characters`);
  }
  if (Array.isArray(value)) {
    const minItems = schema['minItems'];
    const maxItems = schema['maxItems'];
    if (typeof minItems === 'number' && value.length < minItems) return fail(`must have at least ${minItems} items`);
    if (typeof maxItems === 'number' && value.length > maxItems) return fail(`must have at most ${maxItems} items`);
    const items = schema['items'] as JsonSchema | undefined;
    if (items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const m = mismatch(items, value[i], `${at}/${i}`);
        if (m !== undefined) return m;
      }
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return objectMismatch(schema, value as Readonly<Record<string, unknown>>, at);
  return undefined;
}

function objectMismatch(schema: JsonSchema, value: Readonly<Record<string, unknown>>, at: string): Mismatch | undefined {
  const properties = (schema['properties'] ?? {}) as Readonly<Record<string, JsonSchema>>;
  for (const name of (schema['required'] ?? []) as readonly string[]) {
    if (!Object.hasOwn(value, name)) return { at: at === '' ? 'the body' : at, text: `lacks the field '${name}'` };
  }
  const extra = schema['additionalProperties'];
  for (const [name, v] of Object.entries(value)) {
    const field = own(properties, name);
    const where = `${at}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (field !== undefined) {
      const m = mismatch(field, v, where);
      if (m !== undefined) return m;
    } else if (extra === false) {
      const known = Object.keys(properties);
      return { at: where, text: `is not a field here${known.length === 0 ? '' : ` (known: ${known.join(', ')})`}` };
    } else if (typeof extra === 'object' && extra !== null) {
      const m = mismatch(extra as JsonSchema, v, where);
      if (m !== undefined) return m;
    }
  }
  return undefined;
}

function resolve(ref: string): JsonSchema {
  const schema = ref.startsWith(SCHEMA_REF) ? (API_SCHEMAS as Readonly<Record<string, JsonSchema>>)[ref.slice(SCHEMA_REF.length)] : undefined;
  if (schema === undefined) throw new TypeError(`API schema reference ${ref} names no schema`);
  return schema;
}

function isType(type: string, v: unknown): boolean {
  switch (type) {
    case 'integer': return Number.isSafeInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: return false;
  }
}

