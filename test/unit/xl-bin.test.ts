import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Script } from 'node:vm';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const BIN = join(ROOT, 'dist', 'bin');

test('bin/xl runs from any directory, through a symlink to it or to its directory, and as `node bin/xl`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-xl-bin-'));
  try {
    symlinkSync(XL, join(dir, 'xl'));
    // Before: through a linked directory Node was given `LINK/../dist`, which it reads as written.
    symlinkSync(join(ROOT, 'bin'), join(dir, 'bin'));
    for (const [cmd, args] of [[XL, ['help']], [join(dir, 'xl'), ['help']], ['./xl', ['help']], [process.execPath, [XL, 'help']], [join(dir, 'bin', 'xl'), ['help']]] as const) {
      const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage xl \[-vfNtT\] <subcommand> \[args\]\n/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the code caches of the xl bundle are accepted by this Node (else xl compiles at every start)', () => {
  const pack = /^const PACK = '([^']+)';$/m.exec(readFileSync(join(BIN, 'xl.cjs'), 'utf8'))?.[1];
  assert.ok(pack !== undefined);
  // The pack, then every chunk file it requires (not in the pack), and those they require.
  const packSource = readFileSync(join(BIN, pack), 'utf8');
  const packed = new Set([...packSource.matchAll(/^"chunks\/([^"]+)": /gm)].map((m) => m[1]));
  const scripts = new Map([[join(BIN, pack), packSource]]);
  for (const source of scripts.values()) {
    for (const [, name] of source.matchAll(/require\("\.\/(xl-[^"]+\.cjs)"\)/g)) {
      const file = join(BIN, 'chunks', name as string);
      if (!packed.has(name) && !scripts.has(file)) scripts.set(file, readFileSync(file, 'utf8'));
    }
  }
  assert.ok(scripts.size > 1);
  for (const [file, source] of scripts) {
    const script = new Script(source, { filename: file, cachedData: readFileSync(`${file}.cache`) });
    assert.equal(script.cachedDataRejected, false, file);
  }
});

test('an argument that is not UTF-8 ends xl with one line (Node would have named another file, one with U+FFFD there)', () => {
  const r = spawnSync('/bin/sh', ['-c', 'exec "$0" save -c dom "$(printf \'/tmp/v\\377\')"', XL], { encoding: 'utf8', env: { ...process.env, DOM0_RUN_DIR: '/nonexistent/dom0-xl-bin' } });
  assert.deepEqual([r.status, r.stdout, r.stderr], [2, '', "xl: argument 4 is not valid UTF-8: '/tmp/v\\xff'\nhint: xl takes file names and values in UTF-8; rename the file\n"]);
  // With --json, the one {"error"} object on stdout too (before, nothing).
  const json = spawnSync('/bin/sh', ['-c', 'exec "$0" --json list "$(printf \'\\377\')"', XL], { encoding: 'utf8' });
  assert.equal(json.status, 2);
  assert.deepEqual(JSON.parse(json.stdout), { error: { code: 'USAGE', message: "xl: argument 3 is not valid UTF-8: '\\xff'", hint: 'xl takes file names and values in UTF-8; rename the file' } });
  // U+FFFD itself, as UTF-8, is a character like any other.
  const ok = spawnSync(XL, ['help', 'list\ufffd'], { encoding: 'utf8' });
  assert.doesNotMatch(ok.stderr, /not valid UTF-8/);
});

test('in a working directory that was removed, a relative path fails as missing, in one line (before: an internal error)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-xl-gone-'));
  const gone = join(dir, 'gone');
  try {
    mkdirSync(gone);
    // dash, as /bin/sh, exports an empty PWD when it cannot read its working directory.
    const r = spawnSync('dash', ['-c', `cd ${gone} && rmdir ${gone} && exec ${XL} restore rel.save`], { encoding: 'utf8', env: { ...process.env, DOM0_RUN_DIR: join(dir, 'run') } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^Cannot open save file '\/\(working directory removed\)\/rel\.save': No such file or directory\n/m);
    assert.doesNotMatch(r.stderr, /internal error/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
