import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenApiValidator } from '../../test/support/openapi.js';
import { openApiDocument } from './openapi.js';
import { API_ROUTES, FEED_ROUTES, STREAM_ROUTES } from './routes.js';

const doc = openApiDocument();
const schemas = (doc['components'] as { schemas: Record<string, unknown> }).schemas;
const operations = Object.values(doc['paths'] as Record<string, Record<string, Record<string, unknown>>>).flatMap((item) => Object.values(item));

/** Every `$ref` in `v`. */
function refs(v: unknown): string[] {
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => (k === '$ref' && typeof x === 'string' ? [x] : refs(x)));
}

test('the document has one operation per route, and only those', () => {
  const ids = operations.map((op) => op['operationId']).sort();
  assert.deepEqual(ids, [...Object.keys(API_ROUTES), ...Object.keys(STREAM_ROUTES), ...Object.keys(FEED_ROUTES)].sort());
});

test('every $ref resolves to a component schema, and every component schema is referenced', () => {
  const all = refs(doc);
  for (const r of all) {
    const m = /^#\/components\/schemas\/(.+)$/.exec(r);
    assert.ok(m !== null && Object.hasOwn(schemas, m[1] as string), `${r} resolves`);
  }
  const used = new Set(all);
  for (const name of Object.keys(schemas)) assert.ok(used.has(`#/components/schemas/${name}`), `${name} is used`);
});

type Operation = { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> };

/** A schema that names fields (or items), not a bare `{type: 'object'}`; a `$ref` is followed. */
function fieldLevel(s: Record<string, unknown>): boolean {
  const ref = s['$ref'];
  const t = typeof ref === 'string' ? schemas[ref.slice('#/components/schemas/'.length)] as Record<string, unknown> : s;
  return t['properties'] !== undefined || t['items'] !== undefined;
}

test('every API operation has a field-level result schema, and a POST one a request body schema', () => {
  const v = new OpenApiValidator(doc);
  for (const [id, route] of Object.entries(API_ROUTES)) {
    const op = operations.find((o) => o['operationId'] === id) as Operation;
    const body = op.requestBody?.content['application/json']?.schema;
    const result = op.responses['200']?.content?.['application/json']?.schema;
    assert.equal(body !== undefined, route.method === 'POST', `${id}: a request body schema exactly when POST`);
    assert.ok(result !== undefined && fieldLevel(result), `${id}: result ${JSON.stringify(result)}`);
    assert.ok(body === undefined || fieldLevel(body), `${id}: request ${JSON.stringify(body)}`);
    for (const part of body === undefined ? ['result', 'error'] as const : ['request', 'result', 'error'] as const) v.compile(v.pointer(id, part));
  }
});

test('every component schema compiles as strict JSON Schema 2020-12, and validates', () => {
  const v = new OpenApiValidator(doc);
  for (const name of Object.keys(schemas)) v.compile(`/components/schemas/${name}`);
  const info = {
    domid: 0, name: 'Domain-0', uuid: '00000000-0000-0000-0000-000000000000', state: 'running',
    flags: { running: true, blocked: false, paused: false, shutdown: false, dying: false }, shutdownReason: null,
    memKiB: 1024, vcpus: 1, cpuTimeNs: 5, startTime: null, uptimeSec: 1.5, cpupool: 'Pool-0',
  };
  assert.deepEqual(v.problems(v.pointer('getDomain', 'result'), info), []);
  assert.deepEqual(v.problems(v.pointer('listDomains', 'result'), [{ ...info, state: 'asleep', memKiB: 1.5 }]), [
    '/0/state must be equal to one of the allowed values', '/0/memKiB must be integer',
  ]);
  assert.deepEqual(v.problems(v.pointer('renameDomain', 'request'), { name: 'n', ref: 'x' }), ['(top) must NOT have additional properties']);
  assert.deepEqual(v.problems(v.pointer('pauseDomain', 'error'), { error: { code: 'DOMAIN_NOT_FOUND', message: 'm', pos: { file: 'f', line: 1 } } }), []);
  assert.deepEqual(v.problems(v.pointer('pauseDomain', 'error'), { error: { code: 'NO_SUCH_CODE', message: 'm' } }), ['/error/code must be equal to one of the allowed values']);
});
