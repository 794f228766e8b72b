import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { interruptible } from './interrupt.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a signal rejects at once with INTERRUPTED; the work goes on, and its next check() throws', async () => {
  const steps: string[] = [];
  const started = Date.now();
  await assert.rejects(interruptible(async (check) => {
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
    await tick(200);
    steps.push('slept');
    check();
    steps.push('not reached');
  }), (e: unknown) => isToolstackError(e, 'INTERRUPTED') && e.message === 'Interrupted (SIGTERM)');
  assert.ok(Date.now() - started < 150);
  await tick(250);
  assert.deepEqual(steps, ['slept']);
});

test('a signal in a critical step waits for it to end: the step is done whole, the next check() tells', async () => {
  const steps: string[] = [];
  await assert.rejects(interruptible(async (check, critical) => {
    await critical(async () => {
      process.kill(process.pid, 'SIGTERM');
      await tick(100);
      steps.push('critical done');
    });
    steps.push('after');
    check();
    steps.push('not reached');
  }), (e: unknown) => isToolstackError(e, 'INTERRUPTED'));
  assert.deepEqual(steps, ['critical done', 'after']);
});

test('a critical step that ends the work: its result stands', async () => {
  const result = await interruptible(async (_check, critical) => critical(async () => {
    process.kill(process.pid, 'SIGTERM');
    await tick(50);
    return 'started';
  }));
  assert.equal(result, 'started');
});
