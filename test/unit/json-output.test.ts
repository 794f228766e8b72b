import assert from 'node:assert/strict';
import { test } from 'node:test';
import { terminalSafe, toJson } from '../../src/common/index.js';

test('terminalSafe escapes what a terminal acts on; with newlines it keeps line ends, \\r\\n too, but not a lone \\r', () => {
  assert.equal(terminalSafe('a\u001b[2Jb\u009b\u202ec\td'), 'a\\x1b[2Jb\\x9b\\u202ec\td');
  assert.equal(terminalSafe('g\u200fh\u200b'), 'g\\u200fh\\u200b');
  assert.equal(terminalSafe('a\nb'), 'a\\nb');
  assert.equal(terminalSafe('a\r\nb\nc\rd', true), 'a\r\nb\nc\\rd');
});

test('toJson escapes DEL, C1 and text-direction characters, which JSON.stringify leaves, into the same JSON', () => {
  const v = { name: 'x\u007f\u0085\u009b\u2028\u202e\u2066é', n: 10n ** 20n };
  const text = toJson(v);
  assert.doesNotMatch(text, /[\u007f-\u009f\u2028\u202e\u2066]/u);
  assert.deepEqual(JSON.parse(text), { name: v.name, n: '100000000000000000000' });
  assert.equal(toJson(undefined), undefined);
});
