import assert from 'node:assert/strict';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolvePaths } from '../common/index.js';
import { boundQemuLog, qemuLogPath, renameQemuLog } from './qemu-runtime.js';

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

test('boundQemuLog: a QEMU log past its bound keeps only its last MiB, and QEMU appends on at its new end', async () => {
  const file = log('chatty');
  const line = 'qemu-system-x86_64: virtio: zero sized buffers are not allowed\n';
  const qemu = openSync(file, 'a');
  try {
    for (let i = 0; i < (3 << 20) / line.length; i++) writeSync(qemu, line);
    writeSync(qemu, 'the last line before\n');
    await boundQemuLog(file, 4 << 20);
    assert.ok(statSync(file).size > 3 << 20, 'under the bound: kept whole');
    await boundQemuLog(file, 2 << 20);
    const st = statSync(file);
    assert.ok(st.blocks * 512 <= (1 << 20) + 8192, `about 1 MiB left on disk (${st.blocks * 512})`);
    writeSync(qemu, 'after the trim\n');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.endsWith('the last line before\nafter the trim\n'), 'the end kept, and the appender goes on after it');
    if (st.size < 2 << 20) assert.ok(!text.includes('\0'), 'collapsed: no hole left at the start');
  } finally {
    closeSync(qemu);
  }
  await boundQemuLog(log('no-such-domain'));
});
