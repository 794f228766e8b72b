import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError, ToolstackError } from '../common/index.js';
import { fileArgument, getopt } from './getopt.js';

test('getopt() clusters short options, takes attached and separate arguments, permutes', () => {
  const p = getopt(['file.cfg', '-cp', '-fdef.cfg', 'memory=512', '-q', '--', '-x'], 'AFVcdef:inpq');
  assert.deepEqual(p.positional, ['file.cfg', 'memory=512', '-x']);
  assert.equal(p.value('f'), 'def.cfg');
  assert.ok(p.has('c') && p.has('p') && p.has('q'));
});

test('getopt() resolves long options by prefix and rejects unknown ones with exit 2', () => {
  const p = getopt(['--dry', '--defconfig=x'], 'f:n', [
    { name: 'dryrun', hasArg: false, short: 'n' },
    { name: 'defconfig', hasArg: true, short: 'f' },
  ]);
  assert.ok(p.has('n'));
  assert.equal(p.value('f'), 'x');
  assert.throws(() => getopt(['-z'], 'ab'), (e: unknown) => e instanceof ToolstackError && e.exitCode === 2 && e.message === "option `z' not supported.");
});

test('getopt() with + stops at the first positional', () => {
  const p = getopt(['-v', 'list', '-l'], '+v');
  assert.deepEqual(p.positional, ['list', '-l']);
});

test('fileArgument: a path against the working directory; an empty one names no file (it named the directory)', () => {
  assert.equal(fileArgument('/w', 'a/b', 'x'), '/w/a/b');
  assert.equal(fileArgument('/w', '/x', 'x'), '/x');
  assert.throws(() => fileArgument('/w', '', 'Cannot save'), (e: unknown) => isToolstackError(e, 'IO') && e.message === 'Cannot save: an empty name names no file');
});
