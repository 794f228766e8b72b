import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathsEnv, resolvePaths, toJson } from '../../src/common/index.js';

test('resolvePaths() uses the system directories for root', () => {
  const p = resolvePaths({}, { uid: 0, home: '/root', cwd: '/' });
  assert.deepEqual(
    [p.configDir, p.stateDir, p.runDir, p.logDir],
    ['/etc/xen', '/var/lib/dom0', '/run/dom0', '/var/log/dom0'],
  );
  assert.equal(p.apiSocket, '/run/dom0/api.sock');
  assert.equal(p.pidFile, '/run/dom0/dom0d.pid');
  assert.equal(p.xenstoredSocket, '/run/dom0/xenstored/socket');
  assert.equal(p.domainsDir, '/var/lib/dom0/domains');
  assert.equal(p.dom0dLog, '/var/log/dom0/dom0d.log');
});

test('resolvePaths() uses the XDG directories for other users', () => {
  const p = resolvePaths({ XDG_RUNTIME_DIR: '/run/user/1000' }, { uid: 1000, home: '/home/u', cwd: '/' });
  assert.deepEqual(
    [p.configDir, p.stateDir, p.runDir, p.logDir],
    ['/home/u/.config/dom0', '/home/u/.local/state/dom0', '/run/user/1000/dom0', '/home/u/.local/state/dom0/log'],
  );
  assert.equal(resolvePaths({}, { uid: 1000, home: '/home/u', cwd: '/' }).runDir, '/tmp/dom0-1000');
});

test('resolvePaths() honours DOM0_*_DIR, relative to cwd, and pathsEnv() round-trips', () => {
  const env = { DOM0_CONFIG_DIR: 'c', DOM0_STATE_DIR: '/s/', DOM0_RUN_DIR: '../r', DOM0_LOG_DIR: '/l/./x' };
  const p = resolvePaths(env, { uid: 0, home: '/root', cwd: '/w/d' });
  assert.deepEqual([p.configDir, p.stateDir, p.runDir, p.logDir], ['/w/d/c', '/s', '/w/r', '/l/x']);
  assert.deepEqual(resolvePaths(pathsEnv(p), { uid: 5, home: '/h', cwd: '/' }), p);
});

test('toJson() writes safe bigints as numbers and larger ones as decimal strings', () => {
  assert.equal(toJson({ a: 5n, b: 2n ** 64n - 1n, c: [1] }), '{"a":5,"b":"18446744073709551615","c":[1]}');
});
