import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import type { QmpClient } from '../qemu/index.js';
import { migrationDone, outgoingTo } from './qemu-save.js';

/** A QMP peer for query-migrate alone: `status()` answers each query; `migrate_cancel` is recorded. */
function peer(status: () => Record<string, unknown>): { qmp: QmpClient; commands: string[] } {
  const commands: string[] = [];
  const qmp = {
    onEvent: () => () => undefined,
    queryMigrate: () => Promise.resolve(status()),
    execute: (command: string) => {
      commands.push(command);
      return Promise.resolve({});
    },
  } as unknown as QmpClient;
  return { qmp, commands };
}

test('an outgoing migration that sends nothing for the stall time is ended: its writer killed, QEMU asked to cancel', async () => {
  let unblocked = false;
  const { qmp, commands } = peer(() => (unblocked ? { status: 'failed' } : { status: 'active', ram: { transferred: 4096 } }));
  const t0 = Date.now();
  await assert.rejects(migrationDone(qmp, 'Migration', 60_000, { ms: 150, unblock: () => { unblocked = true; } }), (e: unknown) => {
    assert.ok(isToolstackError(e) && e.code === 'MIGRATION', String(e));
    assert.equal(e.message, 'Migration stalled: nothing was sent for 150 ms');
    return true;
  });
  assert.ok(Date.now() - t0 >= 150);
  assert.equal(unblocked, true);
  assert.deepEqual(commands, ['migrate_cancel']);
});

test('a migration whose stream moves is never taken for stalled, however long it takes', async () => {
  let sent = 0;
  const { qmp } = peer(() => (sent > 40 ? { status: 'completed' } : { status: 'active', ram: { transferred: ++sent } }));
  await migrationDone(qmp, 'Migration', 60_000, { ms: 30, unblock: () => assert.fail('unblocked') });
});

test('the outgoing stream is written by cat alone, exec\'d by the shell (the one child a stall kills)', () => {
  assert.equal(outgoingTo("/run/x y/it's.fifo"), "exec:exec cat > '/run/x y/it'\\''s.fifo'");
});
