import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_ROUTES, matchRoutePath, routeRequest } from './routes.js';

test('routeRequest() puts path parameters in the URL and the rest in the body', () => {
  assert.deepEqual(routeRequest(API_ROUTES.renameDomain, { ref: 'a b/c', name: 'n' }), { path: '/v1/domains/a%20b%2Fc/rename', body: { name: 'n' } });
  assert.deepEqual(routeRequest(API_ROUTES.listDomains, undefined), { path: '/v1/domains', body: {} });
  assert.throws(() => routeRequest(API_ROUTES.getDomain, {}), TypeError);
  // An empty domain is domid 0, as libxl reads a qualifier of digits only (before: "No API route
  // POST /v1/domains//destroy"); an empty device id is no device.
  assert.equal(routeRequest(API_ROUTES.destroyDomain, { ref: '' }).path, '/v1/domains/0/destroy');
  assert.throws(() => routeRequest(API_ROUTES.detachDevice, { ref: 'g', kind: 'vbd', id: '' }), /^ToolstackError: Error: Device {2}not connected\.$/);
});

test('matchRoutePath() decodes parameters and matches whole segments only', () => {
  assert.deepEqual(matchRoutePath('/v1/domains/:ref/rename', '/v1/domains/a%20b%2Fc/rename'), { ref: 'a b/c' });
  assert.equal(matchRoutePath('/v1/domains/:ref', '/v1/domains/x/rename'), undefined);
  assert.equal(matchRoutePath('/v1/domains/:ref', '/v1/domains/'), undefined);
});

test('every route is unique', () => {
  const keys = Object.values(API_ROUTES).map((r) => `${r.method} ${r.path}`);
  assert.equal(new Set(keys).size, keys.length);
});
