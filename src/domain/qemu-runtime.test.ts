import assert from 'node:assert/strict';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolvePaths } from '../common/index.js';
import { qemuLogPath, renameQemuLog } from './qemu-runtime.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-qemu-runtime-'));
const paths = resolvePaths({ DOM0_STATE_DIR: join(root, 'state'), DOM0_LOG_DIR: join(root, 'log'), DOM0_RUN_DIR: join(root, 'run') }, { uid: 0, home: '/root', cwd: '/' });
mkdirSync(paths.logDir, { recursive: true });
after(() => rmSync(root, { recursive: true, force: true }));

const log = (name: string, suffix = ''): string => `${qemuLogPath(paths, name)}${suffix}`;
const read = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

test('renameQemuLog: the log goes with the domain, still written by the QEMU holding it; a gone domain\'s log there is rotated', () => {
  writeFileSync(log('old'), 'old run 2\n');
  writeFileSync(log('old', '.1'), 'old run 1\n');
  writeFileSync(log('new'), 'a gone domain named new\n');
  // The descriptor QEMU writes its stderr to (opened for append, as spawnDetached does).
  const qemu = openSync(log('old'), 'a');
  try {
    renameQemuLog(paths, 'old', 'new');
    writeSync(qemu, 'after the rename\n');
  } finally {
    closeSync(qemu);
  }
  assert.equal(read(log('new')), 'old run 2\nafter the rename\n');
  assert.equal(read(log('new', '.1')), 'a gone domain named new\n');
  assert.equal(read(log('old')), undefined);
  assert.equal(read(log('old', '.1')), 'old run 1\n', 'earlier runs stay with the old name');
});

test('renameQemuLog: without a log, or to the same name, nothing is touched', () => {
  writeFileSync(log('other'), 'a gone domain named other\n');
  renameQemuLog(paths, 'nolog', 'other');
  assert.equal(read(log('other')), 'a gone domain named other\n');
  assert.equal(read(log('other', '.1')), undefined);
  appendFileSync(log('other'), 'more\n');
  renameQemuLog(paths, 'other', 'other');
  assert.equal(read(log('other')), 'a gone domain named other\nmore\n');
  assert.equal(read(log('other', '.1')), undefined);
});
