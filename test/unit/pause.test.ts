import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WakeablePause } from '../../src/common/index.js';

test('a pause ends after its time, or at once when woken; a wake between pauses does nothing', async () => {
  const p = new WakeablePause();
  p.wake();
  let t0 = performance.now();
  await p.pause(30);
  assert.ok(performance.now() - t0 >= 25);
  t0 = performance.now();
  const paused = p.pause(10_000);
  setTimeout(() => p.wake(), 5);
  await paused;
  assert.ok(performance.now() - t0 < 5_000);
});
