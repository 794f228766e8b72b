import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { assertActionAllowed, assertTransition, canTransition, DOMAIN_STATES, InvalidStateTransition, xenFlags } from './state.js';

test('assertTransition() allows the lifecycle edges and rejects the rest with a typed error', () => {
  assertTransition('creating', 'paused');
  assertTransition('paused', 'running');
  assertTransition('running', 'shutting-down');
  assertTransition('shutting-down', 'shutdown');
  assertTransition('shutdown', 'dying');
  assertTransition('dying', 'destroyed');
  assert.throws(() => assertTransition('destroyed', 'running'), (e: unknown) =>
    e instanceof InvalidStateTransition && e.from === 'destroyed' && e.to === 'running' && e.code === 'DOMAIN_STATE');
  assert.throws(() => assertTransition('dying', 'running', 'g1'), /Cannot change domain 'g1' from dying to running/);
});

test('no state transitions to itself and destroyed is terminal', () => {
  for (const s of DOMAIN_STATES) assert.equal(canTransition(s, s), false, s);
  for (const s of DOMAIN_STATES) assert.equal(canTransition('destroyed', s), false);
});

test('assertActionAllowed() names the action, the domain and its state', () => {
  assertActionAllowed('pause', 'running', 'g');
  assert.throws(() => assertActionAllowed('unpause', 'running', 'g'), (e: unknown) =>
    isToolstackError(e, 'DOMAIN_STATE') && e.message === "Cannot unpause domain 'g': it is running");
});

test('xenFlags() maps states onto the letters of xl list', () => {
  assert.deepEqual(xenFlags('running'), { running: true, blocked: false, paused: false, shutdown: false, dying: false });
  assert.equal(xenFlags('paused').paused, true);
  assert.equal(xenFlags('creating').paused, true);
  assert.equal(xenFlags('shutdown').shutdown, true);
  assert.equal(xenFlags('dying').dying, true);
});
