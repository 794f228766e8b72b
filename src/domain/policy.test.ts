import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyAction, policyActionName, preservedName } from './policy.js';

test('policyAction(): the config\'s on_* value, libxl\'s defaults when absent, destroy when unknown, none for suspend', () => {
  assert.equal(policyAction({}, 'poweroff'), 'destroy');
  assert.equal(policyAction({}, 'reboot'), 'restart');
  assert.equal(policyAction({}, 'crash'), 'destroy');
  assert.equal(policyAction({}, 'watchdog'), 'destroy');
  assert.equal(policyAction({}, 'suspend'), undefined);
  assert.equal(policyAction({ on_crash: 'restart_rename' }, 'crash'), 'restart_rename');
  assert.equal(policyAction({ on_reboot: 'coredump_restart' }, 'reboot'), 'coredump_restart');
  assert.equal(policyAction({ on_poweroff: 'preserve' }, 'poweroff'), 'preserve');
  assert.equal(policyAction({ on_watchdog: 'bogus' }, 'watchdog'), 'destroy');
});

test('policyActionName() spells actions as xl.cfg and xl\'s log do', () => {
  assert.equal(policyActionName('restart_rename'), 'rename-restart');
  assert.equal(policyActionName('coredump_destroy'), 'coredump-destroy');
  assert.equal(policyActionName('soft_reset'), 'soft-reset');
});

test('preservedName(): <name>-<UTC %Y%m%dT%H%MZ>', () => {
  assert.equal(preservedName('web', new Date(Date.UTC(2026, 0, 2, 3, 4, 59))), 'web-20260102T0304Z');
});
