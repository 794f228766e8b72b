import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyAction, policyActionName, preservedName } from './policy.js';

test('policyAction(): the config\'s on_* value, libxl\'s default (destroy) when unset, none for suspend', () => {
  assert.equal(policyAction({}, 'poweroff'), 'destroy');
  assert.equal(policyAction({}, 'reboot'), 'destroy');
  assert.equal(policyAction({}, 'crash'), 'destroy');
  assert.equal(policyAction({}, 'suspend'), undefined);
  assert.equal(policyAction({ on_crash: 'restart_rename' }, 'crash'), 'restart_rename');
  assert.equal(policyAction({ on_reboot: 'coredump_restart' }, 'reboot'), 'coredump_restart');
  assert.equal(policyAction({ on_poweroff: 'preserve' }, 'poweroff'), 'preserve');
  assert.equal(policyAction({ on_soft_reset: 'soft_reset' }, 'soft_reset'), 'soft_reset');
});

test('policyActionName() spells actions as xl.cfg and xl\'s log do', () => {
  assert.equal(policyActionName('restart_rename'), 'rename-restart');
  assert.equal(policyActionName('coredump_destroy'), 'coredump-destroy');
  assert.equal(policyActionName('soft_reset'), 'soft-reset');
});

test('preservedName(): <name>-<UTC %Y%m%dT%H%MZ>', () => {
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 59));
  assert.equal(preservedName('web', at, 244), 'web-20260102T0304Z');
  assert.equal(preservedName('x'.repeat(244), at, 244), `${'x'.repeat(229)}-20260102T0304Z`);
  assert.equal(Buffer.byteLength(preservedName('é'.repeat(122), at, 244)), 243, 'cut at a character boundary');
});
