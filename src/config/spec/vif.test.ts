import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEVICE_NIC } from '../domain-config/domain-config.js';
import { idlToJson } from '../domain-config/idl-json.js';
import { parseVifArgs, parseVifRate, parseVifSpec } from './vif.js';

test('parseVifSpec() splits config items strtok-style and keeps going past bad tokens', () => {
  const r = parseVifSpec('mac=00:16:3e:01:02:03, bridge=xenbr0,,bogus,model=e1000', { devid: 2, defaults: { script: 'vif-route' } });
  assert.deepEqual(r.warnings, ['unrecognized argument `bogus\'']);
  assert.deepEqual(idlToJson(DEVICE_NIC, r.device), { devid: 2, model: 'e1000', mac: '00:16:3e:01:02:03', bridge: 'xenbr0', script: 'vif-route' });
});

test('parseVifArgs() fails on the first rejected token', () => {
  assert.throws(() => parseVifArgs(['type=tap']), { code: 'SPEC_VIF', lines: ['Invalid parameter `type\'.'] });
});

test('parseVifRate() scales bits/bytes and intervals as libxlutil does', () => {
  assert.deepEqual(parseVifRate('80Mb/s@1s'), { bytesPerInterval: 10000000, intervalUsecs: 1000000 });
  assert.deepEqual(parseVifRate('2000000B/s'), { bytesPerInterval: 100000, intervalUsecs: 50000 });
  assert.throws(() => parseVifRate('0B/s', 'vm.cfg'), { lines: ['vm.cfg: config parsing error in vif: rate overflow in `0B/s\''] });
});
