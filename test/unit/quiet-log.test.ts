import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quietLog } from '../../src/common/index.js';

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
  // Lines told apart by a key: another client dropped for the same reason is counted.
  log('dropped client 1: too slow', 'too slow');
  log('dropped client 2: too slow', 'too slow');
  t = 3000;
  log('dropped client 3: too slow', 'too slow');
  assert.deepEqual(out.slice(5), ['dropped client 1: too slow', 'dropped client 3: too slow (1 more since it was last said)']);
});
