import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError } from '../../common/index.js';
import { rawCfgSettings } from './raw.js';
import { MAX_CFG_FILE_BYTES, readCfgFile, withExtraConfig } from './read.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-cfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('extra key=value arguments are appended after the file, as xl create does', () => {
  assert.equal(withExtraConfig('a=1', ['b=2', 'c="x"; d=[1]']), 'a=1\nb=2\nc="x"; d=[1]\n\n');
  assert.equal(withExtraConfig('a=1\n'), 'a=1\n');
  const f = join(dir, 'x.cfg');
  writeFileSync(f, 'memory = 256\nname = "a"');
  const doc = readCfgFile(f, { extra: ['memory=512', 'cpus="0-3"; pci=["01:05.1","01:05.2"]'] });
  assert.deepEqual(rawCfgSettings(doc), [
    { name: 'memory', op: '=', value: '256', line: 1 },
    { name: 'name', op: '=', value: 'a', line: 2 },
    { name: 'memory', op: '=', value: '512', line: 3 },
    { name: 'cpus', op: '=', value: '0-3', line: 4 },
    { name: 'pci', op: '=', value: ['01:05.1', '01:05.2'], line: 4 },
  ]);
});

test('/dev/null is no file: only the extra arguments', () => {
  assert.deepEqual(rawCfgSettings(readCfgFile('/dev/null', { extra: ['name="n"'] })), [{ name: 'name', op: '=', value: 'n', line: 2 }]);
  assert.deepEqual(readCfgFile('/dev/null').settings, []);
});

test('an unreadable file is CFG_READ with xl\'s message', () => {
  assert.throws(() => readCfgFile(join(dir, 'missing.cfg')), (e: unknown) => {
    assert.ok(isToolstackError(e, 'CFG_READ'));
    assert.deepEqual(e.lines, [`Failed to read config file: ${join(dir, 'missing.cfg')}: No such file or directory`]);
    assert.ok(e.hint);
    return true;
  });
});

test('only a plain file of at most 16 MiB is read, as libxl reads (never waiting on a FIFO, never reading without end)', () => {
  // libxl: fstat, not S_ISREG → ENOTTY ("... is not a plain file").
  for (const p of [dir, '/dev/zero']) {
    assert.throws(() => readCfgFile(p), (e: unknown) => isToolstackError(e, 'CFG_READ') && e.message === `Failed to read config file: ${p}: Inappropriate ioctl for device` && /not a plain file/.test(e.hint ?? ''));
  }
  const fifo = join(dir, 'fifo.cfg');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => readCfgFile(fifo), (e: unknown) => isToolstackError(e, 'CFG_READ') && e.message.endsWith(': Inappropriate ioctl for device'));
  const big = join(dir, 'big.cfg');
  writeFileSync(big, '#'.repeat(MAX_CFG_FILE_BYTES + 1));
  assert.throws(() => readCfgFile(big), (e: unknown) => isToolstackError(e, 'CFG_READ') && e.message.endsWith(': File too large'));
  writeFileSync(big, `${'#'.repeat(MAX_CFG_FILE_BYTES - 20)}\nname="big"\n`);
  assert.deepEqual(rawCfgSettings(readCfgFile(big)), [{ name: 'name', op: '=', value: 'big', line: 2 }]);
});

test('a syntax error is CFG_SYNTAX naming the file', () => {
  const f = join(dir, 'bad.cfg');
  writeFileSync(f, 'a = b\n');
  assert.throws(() => readCfgFile(f), (e: unknown) => isToolstackError(e, 'CFG_SYNTAX') && e.pos?.line === 1 && e.pos.file === f);
});

test('a Python-style config falls back to the legacy evaluator unless disabled', () => {
  const f = join(dir, 'xm.cfg');
  writeFileSync(f, 'import os\nname = "vm" + "1"\nmemory = 128\n');
  const doc = readCfgFile(f, { extra: ['vcpus=2'] });
  assert.deepEqual(rawCfgSettings(doc), [
    { name: 'name', op: '=', value: 'vm1', line: 2 },
    { name: 'memory', op: '=', value: '128', line: 3 },
    { name: 'vcpus', op: '=', value: '2', line: 5 },
  ]);
  assert.equal(doc.warnings.length, 1);
  assert.match(doc.warnings[0] ?? '', /^.*xm\.cfg: warning: legacy xm \(Python\) config, which xl rejects, evaluated by dom0's xm subset \(import os; string \+\)$/);
  assert.throws(() => readCfgFile(f, { legacy: false }), (e: unknown) => isToolstackError(e, 'CFG_SYNTAX'));
});

test('a failed parse with an `import` line is also tried as legacy', () => {
  const f = join(dir, 'imp.cfg');
  writeFileSync(f, '# xm\nimport os\nmemory = 64\n');
  assert.deepEqual(rawCfgSettings(readCfgFile(f)), [{ name: 'memory', op: '=', value: '64', line: 3 }]);
});

test('a config that is not UTF-8 is refused, naming its first such line (decoded, a path of bytes \\xff named the file of U+FFFD)', () => {
  const f = join(dir, 'latin1.cfg');
  writeFileSync(f, Buffer.concat([Buffer.from('memory = 256\ndisk = ["/tmp/'), Buffer.from([0xff]), Buffer.from('.img,raw,xvda,w"]\n')]));
  assert.throws(() => readCfgFile(f), (e: unknown) => isToolstackError(e, 'CFG_READ') && e.message === `Failed to read config file: ${f}: line 2 is not valid UTF-8`);
  // U+FFFD written as UTF-8 is a character like any other.
  writeFileSync(f, 'name = "a\ufffd"\n');
  assert.equal(rawCfgSettings(readCfgFile(f))[0]?.value, 'a\ufffd');
});

test('a file of many bad lines (CRLF throughout) shows its first 20 errors, how many more, and the hint', () => {
  const f = join(dir, 'crlf.cfg');
  writeFileSync(f, 'a = 1\r\n'.repeat(500));
  assert.throws(() => readCfgFile(f), (e: unknown) => isToolstackError(e, 'CFG_SYNTAX') && e.lines !== undefined && e.lines.length <= 23 &&
    e.lines.some((l) => /^\(\d+ more config parsing errors not shown\)$/.test(l)) && /dos2unix/.test(e.hint ?? ''));
});
