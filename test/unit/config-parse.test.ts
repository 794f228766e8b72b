import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const XL = join(import.meta.dirname, '..', '..', '..', 'bin', 'xl');
const dir = mkdtempSync(join(tmpdir(), 'dom0-config-parse-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function xl(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(XL, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('xl config-parse --raw prints the settings as a JSON array, extra args appended', () => {
  const f = join(dir, 'ok.cfg');
  writeFileSync(f, 'name = "vm"\ndisk = [ "a",\n  "b", ]\nname += "2"\n');
  const r = xl('config-parse', '--raw', f, 'memory=512');
  assert.equal(r.code, 0);
  assert.equal(r.err, '');
  assert.deepEqual(JSON.parse(r.out), [
    { name: 'name', op: '=', value: 'vm', line: 1 },
    { name: 'disk', op: '=', value: ['a', 'b'], line: 2 },
    { name: 'name', op: '+=', value: 'vm2', line: 4 },
    { name: 'memory', op: '=', value: '512', line: 6 },
  ]);
});

test('xl config-parse prints Xen\'s error lines and a hint, exit 1', () => {
  const f = join(dir, 'bad.cfg');
  writeFileSync(f, 'a = 1 b = 2\n');
  const r = xl('config-parse', '--raw', f);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  const lines = r.err.split('\n');
  assert.equal(lines[0], `${f}:1: config parsing error near \`b': syntax error, unexpected IDENT, expecting $end`);
  assert.equal(lines[1], 'Failed to parse config: Invalid argument');
  assert.match(lines[2] ?? '', /^hint: /);
});

test('xl config-parse warns on stderr for a legacy xm config and prints its settings', () => {
  const f = join(dir, 'xm.cfg');
  writeFileSync(f, 'import os\nif 1 > 0:\n    vcpus = 2\nelse:\n    vcpus = 1\n');
  const r = xl('config-parse', '--raw', f);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), [{ name: 'vcpus', op: '=', value: '2', line: 3 }]);
  assert.match(r.err, /warning: legacy xm \(Python\) config/);
});

test('xl config-parse usage errors exit 2; it is listed in xl help', () => {
  assert.equal(xl('config-parse').code, 2);
  assert.equal(xl('config-parse', '/dev/null', 'x', 'y').code, 2);
  assert.match(xl('help').out, /\n config-parse {8}Parse a domain config file/);
});

test('xl config-parse without --raw prints the resolved DomainConfig', () => {
  const f = join(dir, 'resolved.cfg');
  writeFileSync(f, 'name = "r"\ntype = "hvm"\nmemory = 256\nmemroy = 1\n');
  const r = xl('config-parse', f);
  assert.equal(r.code, 0, r.err);
  const c = JSON.parse(r.out) as { c_info: { type: string; name: string }; b_info: { target_memkb: number } };
  assert.equal(c.c_info.type, 'hvm');
  assert.equal(c.b_info.target_memkb, 262144);
  assert.match(r.err, /did you mean `memory'\?/);
});
