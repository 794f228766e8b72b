import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quietLog } from './quiet-log.js';

test('a line repeated within the quiet time is counted, and the count comes with its next showing', () => {
  const out: string[] = [];
  let t = 0;
  const log = quietLog((l) => out.push(l), 1000, 2, () => t);
  for (let i = 0; i < 500; i++) log('console log: ENOSPC');
  log('other');
  t = 1500;
  log('console log: ENOSPC');
  log('console log: ENOSPC');
  assert.deepEqual(out, ['console log: ENOSPC', 'other', 'console log: ENOSPC (499 more since it was last said)']);
  // Only `remembered` lines are tracked: a third distinct line forgets the oldest.
  log('third');
  log('other');
  assert.deepEqual(out.slice(3), ['third', 'other']);
});
