import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readFileTail } from './files.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('readFileTail: a short file whole, a long one from the first whole line of its end, none undefined', async () => {
  const file = join(dir, 'a.log');
  writeFileSync(file, 'one\ntwo\n');
  assert.deepEqual(await readFileTail(file, 64), { size: 8, text: 'one\ntwo\n', truncated: false });
  writeFileSync(file, `${'x'.repeat(100)}\nlast line\n`);
  assert.deepEqual(await readFileTail(file, 16), { size: 111, text: 'last line\n', truncated: true });
  assert.equal(await readFileTail(join(dir, 'none.log'), 16), undefined);
});
