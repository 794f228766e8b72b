import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestBody } from './validate.js';

const refused = (f: () => void, message: RegExp): void => assert.throws(f, (e: Error & { code?: string }) => e.code === 'USAGE' && message.test(e.message));

test('a body of the right fields and types passes; none is needed where the operation takes none', () => {
  checkRequestBody('destroyDomain', {});
  checkRequestBody('destroyDomain', { force: true });
  checkRequestBody('setMemory', { targetKiB: 65536 });
  checkRequestBody('getDomain', {});
  checkRequestBody('createDomain', { paused: true, config: { c_info: { type: 'pv', name: 'a' }, b_info: { max_memkb: 65536, target_memkb: 65536 } } });
});

test('a wrong type, an unknown field (a typo), a missing field, a value out of range: one line saying where and what', () => {
  refused(() => checkRequestBody('destroyDomain', { force: 'yes' }), /^Bad API request: \/force must be a boolean \(got "yes"\)$/);
  refused(() => checkRequestBody('destroyDomain', { forse: true }), /^Bad API request: \/forse is not a field here \(known: force\)$/);
  // A field named like what every object inherits is no field either (it was taken as its schema).
  for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
    refused(() => checkRequestBody('destroyDomain', JSON.parse(`{"${name}": {}}`) as Record<string, unknown>), new RegExp(`^Bad API request: /${name} is not a field here`));
  }
  refused(() => checkRequestBody('destroyDomain', JSON.parse('{"__proto__": {}}') as Record<string, unknown>), /^Bad API request: \/__proto__ is not a field here/);
  refused(() => checkRequestBody('migrateDomain', {}), /^Bad API request: the body lacks the field 'fifo'$/);
  refused(() => checkRequestBody('setMemory', { targetKiB: 1.5 }), /^Bad API request: \/targetKiB must be an integer \(got 1\.5\)$/);
  refused(() => checkRequestBody('getDomain', { x: 1 }), /^Bad API request: the body must be empty: the operation takes no fields \(got 'x'\)$/);
  refused(() => checkRequestBody('createDomain', { config: { c_info: { type: 'pv', name: 'a' }, b_info: { max_memkb: 'lots' } } }),
    /^Bad API request: \/config\/b_info\/max_memkb must be /);
  refused(() => checkRequestBody('createDomain', { config: { c_info: { type: 'pv', name: 'a', uuid: 'not-a-uuid' } } }), /^Bad API request: \/config\/c_info\/uuid must match /);
  refused(() => checkRequestBody('createDomain', { config: { c_info: { type: 'vm' } } }), /^Bad API request: \/config\/c_info\/type must be one of /);
});
