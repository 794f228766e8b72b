import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchEnv, restoreLaunchEnv, toDaemonEnv } from '../../src/common/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SHOW = 'console.log(JSON.stringify([process.env.NODE_EXTRA_CA_CERTS, process.env.DOM0_NODE_EXTRA_CA_CERTS]));\n';

test('launchEnv empties NODE_EXTRA_CA_CERTS for Node; restoreLaunchEnv gives the process the user\'s back', () => {
  for (const user of ['/etc/ca bundle.pem', undefined]) {
    const env: NodeJS.ProcessEnv = { PATH: '/bin', ...(user === undefined ? {} : { NODE_EXTRA_CA_CERTS: user }) };
    const launched = launchEnv(env);
    assert.equal(launched['NODE_EXTRA_CA_CERTS'], '');
    restoreLaunchEnv(launched);
    assert.deepEqual(launched, env);
  }
  const untouched: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/x.pem' };
  restoreLaunchEnv(untouched);
  assert.deepEqual(untouched, { NODE_EXTRA_CA_CERTS: '/x.pem' });
});

test('a daemon\'s environment is an allow-list: no loader, Node, OpenSSL, QEMU or shell start-up variables, the C.UTF-8 locale and the host\'s time zone, PATH absolute with the system\'s directories', () => {
  const env = toDaemonEnv({
    PATH: '.:/opt/tools/bin::bin:/usr/bin', NODE_OPTIONS: '--require /tmp/x.js', NODE_PATH: '/tmp', NODE_EXTRA_CA_CERTS: '', LD_PRELOAD: '/tmp/x.so',
    LD_LIBRARY_PATH: '/tmp', QEMU_MODULE_DIR: '/tmp', BASH_ENV: '/tmp/rc', ENV: '/tmp/rc', LANG: 'de_DE.UTF-8', LC_MESSAGES: 'de_DE.UTF-8', LANGUAGE: 'de',
    PYTHONPATH: '/tmp', PERL5OPT: '-d', PERLLIB: '/tmp', 'BASH_FUNC_ip%%': '() { /tmp/x; }', SHELLOPTS: 'xtrace', PS4: '$(/tmp/x)', GCONV_PATH: '/tmp',
    TZ: 'Europe/Berlin', TZDIR: '/tmp/zones', HOME: '/root', DOM0_STATE_DIR: '/s',
    // Node reads OpenSSL's configuration as it starts; a provider in it is a library loaded into root's dom0d.
    OPENSSL_CONF: '/tmp/evil.cnf', OPENSSL_MODULES: '/tmp', OPENSSL_ENGINES: '/tmp',
    // An allow-list: what nobody listed goes too (a variable of megabytes made every spawn E2BIG).
    SOMETHING_NEW: '/tmp', HUGE: 'x'.repeat(2 << 20), DOM0_HUGE: 'x'.repeat(8192), TMPDIR: 'rel/tmp', XDG_RUNTIME_DIR: '/run/user/0', USER: 'root',
  });
  assert.deepEqual(env, {
    PATH: '/opt/tools/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin', NODE_EXTRA_CA_CERTS: '', LC_ALL: 'C.UTF-8',
    HOME: '/root', DOM0_STATE_DIR: '/s', XDG_RUNTIME_DIR: '/run/user/0', USER: 'root',
  });
  assert.equal(toDaemonEnv({ TMPDIR: '/var/tmp' })['TMPDIR'], '/var/tmp');
  assert.equal(toDaemonEnv({})['PATH'], '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
});

test('bin/xl and bin/dom0d start Node with the variable aside, whatever it holds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-launch-env-'));
  try {
    // Each launcher copied beside a stand-in for the bundle it runs, which prints what Node saw.
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'dist', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
    for (const [launcher, bundle] of [['xl', 'xl.cjs'], ['dom0d', 'dom0d.js']] as const) {
      copyFileSync(join(ROOT, 'bin', launcher), join(dir, 'bin', launcher));
      if (launcher === 'xl') symlinkSync(`../dist/bin/${bundle}`, join(dir, 'bin', bundle));
      writeFileSync(join(dir, 'dist', 'bin', bundle), SHOW);
      for (const user of ['/etc/ca bundle.pem', undefined]) {
        const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(user === undefined ? {} : { NODE_EXTRA_CA_CERTS: user }) };
        const seen = JSON.parse(execFileSync(join(dir, 'bin', launcher), [], { env, encoding: 'utf8' })) as unknown;
        assert.deepEqual(seen, ['', user ?? ''], launcher);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
