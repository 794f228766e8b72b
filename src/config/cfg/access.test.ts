import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cfgBool, cfgList, cfgListItem, cfgLong, cfgString, cfgStringList, cfgStringOrList, cfgValueString, lastSetting, strtol0 } from './access.js';
import { parseCfg } from './parser.js';

const doc = parseCfg(
  [
    'name = "vm1"', 'memory = 512', 'memory = "0x200"', 'oct = 010', 'bad8 = 08', 'ws = " 42"', 'trail = "42 "',
    'neg = "-5"', 'big = "9223372036854775808"', 'word = "yes"', 'lst = ["a", ["b"], 3]', 'sum = 1', 'sum += 2',
    'zero = 0', 'empty = ""', 'hex0 = "0x"',
  ].join('\n'),
  { source: 'g.cfg' },
);

test('lastSetting returns the last assignment of a name', () => {
  assert.equal(lastSetting(doc, 'memory')?.line, 3);
  assert.equal(lastSetting(doc, 'nope'), undefined);
});

test('cfgLong follows strtol base 0 over the whole string, with Xen warnings', () => {
  const w: string[] = [];
  assert.equal(cfgLong(doc, 'memory', { warnings: w }), 512);
  assert.equal(cfgLong(doc, 'oct', { warnings: w }), 8);
  assert.equal(cfgLong(doc, 'ws', { warnings: w }), 42);
  assert.equal(cfgLong(doc, 'neg', { warnings: w }), -5);
  assert.deepEqual(w, []);
  assert.equal(cfgLong(doc, 'bad8', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'trail', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'word', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'empty', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'hex0', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'big', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'sum', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'lst', { warnings: w }), undefined);
  assert.equal(cfgLong(doc, 'absent', { warnings: w }), undefined);
  assert.deepEqual(w, [
    'g.cfg:5: warning: parameter `bad8\' is not a valid number',
    'g.cfg:7: warning: parameter `trail\' is not a valid number',
    'g.cfg:10: warning: parameter `word\' is not a valid number',
    'g.cfg:15: warning: parameter `empty\' is not a valid number',
    'g.cfg:16: warning: parameter `hex0\' is not a valid number',
    'g.cfg:9: warning: parameter `big\' could not be parsed as a number: Numerical result out of range',
    'g.cfg:13: warning: can\'t use += with numbers for parameter `sum\'',
    'g.cfg:11: warning: parameter `lst\' is a list but should be a single value',
  ]);
});

test('cfgLong bounds use Xen\'s bounded-long wording; no sink means no warning', () => {
  const w: string[] = [];
  assert.equal(cfgLong(doc, 'memory', { warnings: w, min: 1024 }), undefined);
  assert.equal(cfgLong(doc, 'memory', { warnings: w, max: 100 }), undefined);
  assert.equal(cfgLong(doc, 'word'), undefined);
  assert.deepEqual(w, [
    'g.cfg:3: warning: value `512\' is smaller than minimum bound \'1024\'',
    'g.cfg:3: warning: value `512\' is greater than maximum bound \'100\'',
  ]);
});

test('cfgBool is a number, 0 false and anything else true', () => {
  assert.equal(cfgBool(doc, 'zero'), false);
  assert.equal(cfgBool(doc, 'memory'), true);
  assert.equal(cfgBool(doc, 'word'), undefined);
});

test('strings, lists and either', () => {
  const w: string[] = [];
  assert.equal(cfgString(doc, 'name', { warnings: w }), 'vm1');
  assert.equal(cfgString(doc, 'memory', { warnings: w }), '0x200');
  assert.equal(cfgString(doc, 'lst', { warnings: w }), undefined);
  assert.equal(cfgList(doc, 'name', { warnings: w }), undefined);
  const items = cfgList(doc, 'lst', { warnings: w });
  assert.equal(items?.length, 3);
  assert.equal(cfgListItem(items ?? [], 0), 'a');
  assert.equal(cfgListItem(items ?? [], 1), undefined);
  assert.equal(cfgListItem(items ?? [], 9), undefined);
  assert.deepEqual(cfgStringList(doc, 'lst'), ['a', undefined, '3']);
  assert.equal(cfgValueString(doc, (items ?? [])[1]!, { warnings: w }), undefined);
  assert.equal(cfgStringOrList(doc, 'name'), 'vm1');
  assert.equal((cfgStringOrList(doc, 'lst') as { kind: string }).kind, 'list');
  assert.deepEqual(w, [
    'g.cfg:11: warning: parameter `lst\' is a list but should be a single value',
    'g.cfg:1: warning: parameter `name\' is a single value but should be a list',
    'g.cfg:11:0: warning: value is not a string',
  ]);
});

test('strtol0 mirrors C strtol(s, &end, 0)', () => {
  assert.deepEqual(strtol0('0x1F'), { value: 31n, used: 4, overflow: false });
  assert.deepEqual(strtol0('0xg'), { value: 0n, used: 1, overflow: false });
  assert.deepEqual(strtol0('  -012z'), { value: -10n, used: 6, overflow: false });
  assert.deepEqual(strtol0('abc'), { value: 0n, used: 0, overflow: false });
  assert.equal(strtol0('-9223372036854775808').overflow, false);
  assert.equal(strtol0('-9223372036854775809').overflow, true);
});
