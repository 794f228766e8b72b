import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readSubtree, startXenstored } from './index.js';
import type { XenstoreClient, XenstoredHandle } from './index.js';

let dir: string;
let xs: XenstoredHandle;
let dom0: XenstoreClient;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xs-subtree-'));
  xs = await startXenstored({ socketPath: join(dir, 'run', 'socket'), stateDir: join(dir, 'state') });
  dom0 = xs.connect();
});
after(async () => {
  dom0.close();
  await xs.close();
  rmSync(dir, { recursive: true, force: true });
});

test('readSubtree: the root, then depth first in DIRECTORY order, values and permissions; capped', async () => {
  await dom0.write('/local/domain/7/name', 'g');
  await dom0.write('/local/domain/7/device/vbd/51712/state', '4');
  await dom0.write('/local/domain/7/domid', '7');
  await dom0.setPerms('/local/domain/7/name', ['n0', 'r7']);
  const { nodes, truncated } = await readSubtree(dom0, '/local/domain/7', 100);
  assert.equal(truncated, false);
  assert.deepEqual(nodes.map((n) => `${n.path}=${n.value}`), [
    '/local/domain/7=', '/local/domain/7/name=g', '/local/domain/7/device=', '/local/domain/7/device/vbd=',
    '/local/domain/7/device/vbd/51712=', '/local/domain/7/device/vbd/51712/state=4', '/local/domain/7/domid=7',
  ]);
  assert.deepEqual(nodes[1]?.perms, ['n0', 'r7']);
  const capped = await readSubtree(dom0, '/local/domain/7', 3);
  assert.deepEqual([capped.nodes.length, capped.truncated], [3, true]);
  assert.deepEqual(await readSubtree(dom0, '/local/domain/8', 100), { nodes: [], truncated: false });
});
