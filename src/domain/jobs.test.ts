import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainJobQueue } from './jobs.js';

test('jobs on one domain run one at a time in order; other domains run alongside', async () => {
  const q = new DomainJobQueue();
  const log: string[] = [];
  const job = (d: number, name: string, ms: number) => q.run(d, name, async () => {
    log.push(`+${name}`);
    assert.equal(q.current(d), name);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`-${name}`);
    if (name === 'a2') throw new Error('boom');
    return name;
  });
  const results = await Promise.allSettled([job(1, 'a1', 10), job(1, 'a2', 1), job(1, 'a3', 1), job(2, 'b1', 1)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  assert.deepEqual(log, ['+a1', '+b1', '-b1', '-a1', '+a2', '-a2', '+a3', '-a3']);
  await q.idle();
  assert.equal(q.current(1), undefined);
});
