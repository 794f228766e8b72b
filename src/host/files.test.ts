import assert from 'node:assert/strict';
import { chmodSync, closeSync, lchownSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { boundAppendedLog, readFileTail, untrustedLink } from './files.js';

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

test('boundAppendedLog: a log past its bound keeps only its last MiB, and its appender goes on at its new end', async () => {
  const file = join(dir, 'qemu-chatty.log');
  const line = 'qemu-system-x86_64: virtio: zero sized buffers are not allowed\n';
  const qemu = openSync(file, 'a'); // as QEMU's stderr is opened (O_APPEND)
  try {
    for (let i = 0; i < (3 << 20) / line.length; i++) writeSync(qemu, line);
    writeSync(qemu, 'the last line before\n');
    await boundAppendedLog(file, 4 << 20);
    assert.ok(statSync(file).size > 3 << 20, 'under the bound: kept whole');
    await boundAppendedLog(file, 2 << 20);
    const st = statSync(file);
    assert.ok(st.blocks * 512 <= (1 << 20) + 8192, `about 1 MiB left on disk (${st.blocks * 512})`);
    writeSync(qemu, 'after the trim\n');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.endsWith('the last line before\nafter the trim\n'), 'the end kept, and the appender goes on after it');
    if (st.size < 2 << 20) assert.ok(!text.includes('\0'), 'collapsed: no hole left at the start');
  } finally {
    closeSync(qemu);
  }
  await boundAppendedLog(join(dir, 'none.log'));
});

test('untrustedLink: another user\'s link in a sticky world-writable directory, on the way or at the end; not root\'s, nor one in a plain directory', { skip: process.getuid?.() !== 0 && 'needs root (links owned by another user)' }, () => {
  const sticky = join(dir, 'tmp');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const plain = join(dir, 'home');
  mkdirSync(plain);
  const target = join(dir, 'authorized_keys');
  writeFileSync(target, '');
  const link = (at: string, to: string, uid: number): string => {
    symlinkSync(to, at);
    lchownSync(at, uid, uid);
    return at;
  };
  const theirs = link(join(sticky, 'web.save'), target, 1000);
  assert.equal(untrustedLink(theirs), theirs);
  const theirDir = link(join(sticky, 'd'), dir, 1000);
  assert.equal(untrustedLink(join(theirDir, 'authorized_keys')), theirDir);
  // Reached through a link of root's that names theirs.
  assert.equal(untrustedLink(link(join(plain, 'via'), theirs, 0)), theirs);
  assert.equal(untrustedLink(link(join(sticky, 'mine.save'), target, 0)), undefined);
  assert.equal(untrustedLink(link(join(plain, 'web.save'), target, 1000)), undefined);
  assert.equal(untrustedLink(join(sticky, 'new.save')), undefined);
  assert.equal(untrustedLink(`${sticky}/no/../new.save`), undefined);
  // `..` after their link is walked from where the link goes (a save to /tmp/evil/../.bashrc is in /root).
  assert.equal(untrustedLink(`${theirDir}/../outside.save`), theirDir);
});
