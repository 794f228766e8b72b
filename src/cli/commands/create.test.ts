import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runXl } from '../../../test/support/xl.js';
import type { XlRun } from '../../../test/support/xl.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-create-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cfg = join(dir, 'guest.cfg');
writeFileSync(cfg, 'name = "guest"\nuuid = "00000000-0000-4000-8000-0000000000aa"\nkernel = "/boot/vmlinuz"\nmemory = 128\n');

function xl(...argv: string[]): Promise<XlRun> {
  return runXl(argv, { env: { DOM0_CONFIG_DIR: join(dir, 'none') }, cwd: dir });
}

test('create -N prints the config JSON and "Parsing config from" on stderr', async () => {
  const r = await xl('-N', 'create', cfg);
  assert.equal(r.rc, 0);
  assert.equal(r.stderr, `Parsing config from ${cfg}\n`);
  assert.match(r.stdout, /^\{\n {4}"c_info": \{\n {8}"type": "pv",\n {8}"name": "guest",/);
  assert.match(r.stdout, /"target_memkb": 131072,/);
  assert.ok(r.stdout.endsWith('}\n'));
});

test('create -n (deprecated) equals -N; -q drops the parsing line; options may follow the file', async () => {
  const a = await xl('-N', 'create', cfg);
  const b = await xl('create', cfg, '-n', '-q');
  assert.equal(b.rc, 0);
  assert.equal(b.stdout, a.stdout);
  assert.equal(b.stderr, '');
});

test('key=value arguments override the file; /dev/null is an empty file', async () => {
  const r = await xl('-N', 'create', cfg, 'memory=64', 'vcpus=2; on_crash="preserve"');
  assert.match(r.stdout, /"target_memkb": 65536/);
  assert.match(r.stdout, /"max_vcpus": 2/);
  assert.match(r.stdout, /"on_crash": "preserve"/);
  const n = await xl('-N', 'create', '/dev/null', 'name="cli"', 'kernel="/k"', 'uuid="00000000-0000-4000-8000-0000000000bb"');
  assert.equal(n.rc, 0, n.stderr);
  assert.match(n.stdout, /"name": "cli"/);
});

test('-f names the config file', async () => {
  const r = await xl('-N', 'create', '-f', cfg);
  assert.equal(r.rc, 0, r.stderr);
  assert.match(r.stdout, /"name": "guest"/);
});

test('--json prints the libxl object as JSON', async () => {
  const r = await xl('-N', 'create', cfg, '--json');
  assert.equal(r.rc, 0);
  const o = JSON.parse(r.stdout) as { c_info: { name: string } };
  assert.equal(o.c_info.name, 'guest');
});

test('missing config file: Xen\'s messages and exit statuses', async () => {
  const none = await xl('-N', 'create');
  assert.equal(none.rc, 6);
  assert.match(none.stderr, /^Config file not specified and none in save file\n/);
  const missing = await xl('-N', 'create', join(dir, 'nope.cfg'));
  assert.equal(missing.rc, 3);
  assert.match(missing.stderr, /Failed to read config file: .*nope\.cfg: No such file or directory\n/);
  const two = await xl('-N', 'create', cfg, 'other.cfg');
  assert.equal(two.rc, 2);
});

test('without a dry run, a bad config fails before any domain is made', async () => {
  const bad = await xl('create', '/dev/null', 'kernel="/k"');
  assert.equal(bad.rc, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^Parsing config from \/dev\/null\nDomain name must be specified\.\nhint: /);
});

test('help create prints Xen\'s usage and options', async () => {
  const r = await xl('help', 'create');
  assert.equal(r.rc, 0);
  assert.match(r.stdout, /^Usage: xl \[-vtTfN\] create <ConfigFile> \[options\] \[vars\]\n\nCreate a domain from config file <filename>\.\n\nOptions:\n\n-c {22}Connect/);
});
