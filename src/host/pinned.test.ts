import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReplacingFile } from './pinned.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-pinned-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Another process appends to `path`, as QEMU's shell does. */
const shellAppends = (path: string, text: string): void => {
  execFileSync('/bin/sh', ['-c', `printf %s "$1" >> "$2"`, 'sh', text, path]);
};

test('a replacing file is written through its descriptor: a name or directory swapped for a link meanwhile is never written through, and a name taken is no save', () => {
  const dir = join(root, 'user');
  const victims = join(root, 'victims');
  mkdirSync(dir);
  mkdirSync(victims);
  writeFileSync(join(victims, 'precious'), 'precious\n');
  writeFileSync(join(dir, 'out.save'), 'old\n');
  const out = ReplacingFile.create(join(dir, 'out.save'), 'out.save.dom0-save');
  assert.equal(out.real, join(dir, 'out.save'));
  const temp = readdirSync(dir).find((n) => n !== 'out.save') as string;
  // The new file's name swapped for a link to another file, and the directory for a link to another directory.
  rmSync(join(dir, temp));
  symlinkSync(join(victims, 'precious'), join(dir, temp));
  renameSync(dir, `${dir}.moved`);
  symlinkSync(victims, dir);
  shellAppends(out.path, 'state');
  shellAppends(out.marker(), '\n');
  assert.ok(out.marked());
  // The rename moved the link (Linux renames by name): the save is refused, never taken as done.
  assert.throws(() => out.commit(), /out\.save: the file being written was replaced by another process, and is lost/);
  out.close();
  assert.deepEqual(readdirSync(victims), ['precious']);
  assert.equal(readFileSync(join(victims, 'precious'), 'utf8'), 'precious\n');
});

test('a replacing file takes the target\'s name in its directory as opened, the directory swapped meanwhile', () => {
  const dir = join(root, 'swapped');
  const victims = join(root, 'victims2');
  mkdirSync(dir);
  mkdirSync(victims);
  const out = ReplacingFile.create(join(dir, 'g.core'), 'g.core.dom0-dump');
  renameSync(dir, `${dir}.moved`);
  symlinkSync(victims, dir);
  shellAppends(out.path, 'core');
  out.commit();
  out.close();
  assert.deepEqual(readdirSync(victims), []);
  assert.deepEqual(readdirSync(`${dir}.moved`), ['g.core']);
  assert.equal(readFileSync(join(`${dir}.moved`, 'g.core'), 'utf8'), 'core');
});

test('a replacing file never committed leaves nothing, and the target as it was', () => {
  const dir = join(root, 'discarded');
  mkdirSync(dir);
  writeFileSync(join(dir, 'core'), 'old');
  const out = ReplacingFile.create(join(dir, 'core'), 'core.dom0-dump');
  out.marker();
  shellAppends(out.path, 'partial');
  out.close();
  assert.deepEqual(readdirSync(dir), ['core']);
  assert.equal(readFileSync(join(dir, 'core'), 'utf8'), 'old');
});

test('a replacing file the caller refuses where it would go makes nothing there', () => {
  const dir = join(root, 'refused');
  mkdirSync(dir);
  let asked: string | undefined;
  assert.throws(() => ReplacingFile.create(join(dir, 'x.save'), 'x.save.dom0-save', (real) => {
    asked = real;
    throw new Error('no');
  }), /^Error: no$/);
  assert.equal(asked, join(dir, 'x.save'));
  assert.deepEqual(readdirSync(dir), []);
});
