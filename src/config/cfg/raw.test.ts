import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCfg } from './parser.js';
import { formatRawCfgSettings, rawCfgSettings } from './raw.js';

test('formatRawCfgSettings prints what JSON.stringify(x, null, 2) prints', () => {
  const doc = parseCfg('a = "x\\"y"\nb = []\nc = [1, [2, [], ["é"]], "z"]\nd = 4\n', { source: 't' });
  const raw = rawCfgSettings(doc);
  assert.equal(formatRawCfgSettings(raw), JSON.stringify(raw, null, 2));
  assert.equal(formatRawCfgSettings([]), JSON.stringify([], null, 2));
});

test('the deepest lists Xen accepts convert and print without exhausting the stack', () => {
  const n = 4996;
  const doc = parseCfg(`a = ${'['.repeat(n)}"x"${']'.repeat(n)}\n`, { source: 't' });
  const text = formatRawCfgSettings(rawCfgSettings(doc));
  assert.ok(text.includes('"x"'));
  assert.equal(text.split('[').length - 1, n + 1);
});
