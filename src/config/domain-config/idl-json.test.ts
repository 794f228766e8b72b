import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../../common/index.js';
import { DEVICE_CHANNEL, DEVICE_USBDEV, DOMAIN_CONFIG } from './domain-config.js';
import { arrayOf, bool, bytes, defbool, devid, enumOf, f, i32, kvList, mac, string, struct, u8, u64, uuid } from './idl.js';
import type { IdlStruct, IdlValue } from './idl.js';
import { idlFromJson, idlToJson } from './idl-json.js';

const ALL = struct({
  flag: f(bool), db: f(defbool), n: f(i32), id: f(devid), small: f(u8), big: f(u64), s: f(string),
  kind: f(enumOf(['unknown', 'a', 'b'] as const)), from1: f(enumOf(['x', 'y'] as const, null)),
  mac: f(mac), uuid: f(uuid), genid: f(bytes(4)), kv: f(kvList), list: f(arrayOf(i32)), sub: f(struct({ s: f(string) })),
});

test('idlToJson() leaves out each kind\'s default and keeps IDL order', () => {
  const defaults: IdlValue<typeof ALL> = {
    flag: false, n: 0, id: -1, small: 0, big: 0, kind: 'unknown', mac: '00:00:00:00:00:00',
    uuid: '00000000-0000-0000-0000-000000000000', genid: [0, 0, 0, 0], kv: {}, list: [],
  };
  assert.deepEqual(idlToJson(ALL, defaults), { sub: {} });
  assert.deepEqual(idlToJson(ALL, { sub: { s: '' }, s: '', kind: 'b', from1: 'x', db: false, flag: true, big: 2n ** 64n - 1n, small: 257 }), {
    flag: true, db: 'False', small: 1, big: 18446744073709551615n, s: '', kind: 'b', from1: 'x', sub: { s: '' },
  });
  assert.deepEqual(idlToJson(ALL, { kind: null, from1: null }), { kind: null, from1: null, sub: {} });
});

test('idlFromJson() restores keyed unions from their key', () => {
  const b = idlFromJson(DOMAIN_CONFIG, { b_info: { 'type.hvm': { vga: { kind: 'std' } } } }).b_info;
  assert.equal(b?.type, 'hvm');
  assert.equal(b?.u?.hvm?.vga?.kind, 'std');
  assert.deepEqual(idlFromJson(DEVICE_CHANNEL, { devid: 1, 'connection.socket': { path: '/s' } }), { devid: 1, connection: 'socket', u: { socket: { path: '/s' } } });
  assert.deepEqual(idlFromJson(DEVICE_CHANNEL, { 'connection.pty': {} }), { connection: 'pty', u: { pty: {} } });
  assert.deepEqual(idlFromJson(DEVICE_USBDEV, { ctrl: 0, 'type.hostdev': { hostbus: 2 } }), { ctrl: 0, type: 'hostdev', u: { hostdev: { hostbus: 2 } } });
});

test('idlFromJson() reads what libxl accepts: <default>, upper-case ids, 64-bit integers as digits, enum null', () => {
  assert.deepEqual(idlFromJson(ALL, {
    db: '<default>', mac: '00:16:3E:AA:BB:CC', uuid: 'B2A1C3D4-0000-4000-8000-00000000ABCD', big: '18446744073709551615', kind: null,
  }), { mac: '00:16:3e:aa:bb:cc', uuid: 'b2a1c3d4-0000-4000-8000-00000000abcd', big: 18446744073709551615n, kind: null });
  assert.deepEqual(idlFromJson(ALL, { big: 18446744073709551615n, n: -2147483648 }), { big: 18446744073709551615n, n: -2147483648 });
  const kv = idlFromJson(ALL, JSON.parse('{"kv": {"__proto__": "x"}}')).kv;
  assert.deepEqual(Object.entries(kv ?? {}), [['__proto__', 'x']]);
  assert.equal(Object.getPrototypeOf(kv), Object.prototype);
});

/** The CONFIG_SCHEMA message idlFromJson throws for `json` against `s`. */
function rejection(json: unknown, s: IdlStruct = ALL): string {
  try {
    idlFromJson(s, json);
  } catch (e) {
    assert.ok(isToolstackError(e, 'CONFIG_SCHEMA'), String(e));
    return e.message;
  }
  return assert.fail(`accepted ${JSON.stringify(json)}`);
}

test('idlFromJson() rejects unknown fields, naming the path', () => {
  assert.equal(rejection({ b_info: { 'type.hvm': { vga: { kind: 'std', colour: 1 } } } }, DOMAIN_CONFIG), 'Invalid libxl JSON at b_info.type.hvm.vga.colour: no such field');
  assert.equal(rejection({ b_info: { type: 'hvm' } }, DOMAIN_CONFIG), 'Invalid libxl JSON at b_info.type: no such field');
  assert.equal(rejection({ b_info: { 'type.arm': {} } }, DOMAIN_CONFIG), 'Invalid libxl JSON at b_info.type.arm: no such field');
  assert.equal(rejection({ 'connection.pty': { path: '/s' } }, DEVICE_CHANNEL), 'Invalid libxl JSON at connection.pty.path: no such field');
  assert.equal(rejection({ b_info: { 'type.hvm': {}, 'type.pv': {} } }, DOMAIN_CONFIG), 'Invalid libxl JSON at b_info.type.pv: a second member of the union keyed by type (after "hvm")');
  assert.equal(rejection({ disks: [{ vdev: 'xvda' }, { toString: 1 }] }, DOMAIN_CONFIG), 'Invalid libxl JSON at disks[1].toString: no such field');
  assert.equal(rejection({ b_info: { cpuid: { cpuid: [{ leaf: 1, fx: 'x' }], msr: [] } } }, DOMAIN_CONFIG), 'Invalid libxl JSON at b_info.cpuid.cpuid[0].fx: no such field');
});

test('idlFromJson() rejects values of the wrong JSON type', () => {
  assert.equal(rejection([]), 'Invalid libxl JSON at the top level: expected an object, got []');
  assert.equal(rejection({ n: '4' }), 'Invalid libxl JSON at n: expected an integer, got "4"');
  assert.equal(rejection({ n: 1.5 }), 'Invalid libxl JSON at n: expected an integer, got 1.5');
  assert.equal(rejection({ big: 2 ** 60 }), 'Invalid libxl JSON at big: 1152921504606847000 is beyond 2^53, where a JSON number loses digits (give its digits as a string)');
  assert.equal(rejection({ flag: 1 }), 'Invalid libxl JSON at flag: expected true or false, got 1');
  assert.equal(rejection({ s: null }), 'Invalid libxl JSON at s: expected a string, got null');
  assert.equal(rejection({ list: [1, 'x'] }), 'Invalid libxl JSON at list[1]: expected an integer, got "x"');
  assert.equal(rejection({ sub: 'x' }), 'Invalid libxl JSON at sub: expected an object, got "x"');
  assert.equal(rejection({ kv: { a: 1 } }), 'Invalid libxl JSON at kv.a: expected a string, got 1');
  assert.equal(rejection({ b_info: { cpuid: { cpuid: [{ leaf: 1, eax: 'x' }] } } }, DOMAIN_CONFIG), 'Invalid libxl JSON at b_info.cpuid.cpuid[0].eax: expected a string of 32 characters, got "x"');
});

test('idlFromJson() rejects integers out of their C type\'s range', () => {
  assert.equal(rejection({ n: 2147483648 }), 'Invalid libxl JSON at n: 2147483648 is out of range for i32 (-2147483648 to 2147483647)');
  assert.equal(rejection({ small: 256 }), 'Invalid libxl JSON at small: 256 is out of range for u8 (0 to 255)');
  assert.equal(rejection({ big: -1 }), 'Invalid libxl JSON at big: -1 is out of range for u64 (0 to 18446744073709551615)');
  assert.equal(rejection({ big: '18446744073709551616' }), 'Invalid libxl JSON at big: 18446744073709551616 is out of range for u64 (0 to 18446744073709551615)');
  assert.equal(rejection({ c_info: { poolid: -1 } }, DOMAIN_CONFIG), 'Invalid libxl JSON at c_info.poolid: -1 is out of range for u32 (0 to 4294967295)');
});

test('idlFromJson() rejects unknown enum names and malformed uuids, macs, defbools and byte arrays', () => {
  assert.equal(rejection({ b_info: { 'type.hvm': { vga: { kind: 'vgax' } } } }, DOMAIN_CONFIG),
    'Invalid libxl JSON at b_info.type.hvm.vga.kind: expected one of unknown, cirrus, std, none, qxl, got "vgax"');
  assert.equal(rejection({ kind: 'A' }), 'Invalid libxl JSON at kind: expected one of unknown, a, b, got "A"');
  assert.equal(rejection({ uuid: '6b1f4c2e-0d3a-4f5b-9c8d' }), 'Invalid libxl JSON at uuid: malformed uuid "6b1f4c2e-0d3a-4f5b-9c8d"');
  assert.equal(rejection({ mac: '00:16:3e:0:0:1' }), 'Invalid libxl JSON at mac: malformed mac "00:16:3e:0:0:1"');
  assert.equal(rejection({ db: true }), 'Invalid libxl JSON at db: expected "True", "False" or "<default>", got true');
  assert.equal(rejection({ genid: [1, 2, 3] }), 'Invalid libxl JSON at genid: expected 4 bytes, got 3');
  assert.equal(rejection({ genid: [1, 2, 3, 256] }), 'Invalid libxl JSON at genid[3]: 256 is out of range for u8 (0 to 255)');
});
