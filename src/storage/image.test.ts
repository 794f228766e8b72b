import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageMagic } from './image.js';

test('an image\'s magic is read from a file, never from a FIFO (an image swapped for one held dom0d until a writer came)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-magic-'));
  try {
    writeFileSync(join(dir, 'q.img'), Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3, ...new Array<number>(64).fill(0)]));
    assert.equal(imageMagic(join(dir, 'q.img')), 'qcow2');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    assert.equal(imageMagic(join(dir, 'fifo')), undefined);
    assert.equal(imageMagic(dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
