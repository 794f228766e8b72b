import assert from 'node:assert/strict';
import { chmodSync, chownSync, closeSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { ReplacingFile } from '../host/index.js';
import { QmpTimeoutError } from '../qemu/index.js';
import type { QmpClient } from '../qemu/index.js';
import { migrateMachine, migrationDone, openSaveStream, outgoingTo, saveMachine } from './qemu-save.js';

/**
 * A QMP peer for a migration: `status()` answers each query-migrate (undefined: the monitor is
 * blocked, the query times out after 20 ms); every other command is recorded and succeeds.
 */
function peer(status: () => Record<string, unknown> | undefined): { qmp: QmpClient; commands: string[] } {
  const commands: string[] = [];
  const query = async (): Promise<unknown> => {
    const s = status();
    if (s !== undefined) return s;
    await new Promise((r) => setTimeout(r, 20));
    throw new QmpTimeoutError('query-migrate', 20);
  };
  const qmp = {
    onEvent: () => () => undefined,
    queryMigrate: query,
    queryStatus: () => Promise.resolve({ running: true, status: 'running' }),
    migrateSetParameters: () => Promise.resolve(),
    migrateSetCapabilities: () => Promise.resolve(),
    migrate: () => Promise.resolve(),
    cont: () => {
      commands.push('cont');
      return Promise.resolve();
    },
    execute: (command: string) => {
      if (command === 'query-migrate') return query();
      commands.push(command);
      return Promise.resolve({});
    },
  } as unknown as QmpClient;
  return { qmp, commands };
}

const isStall = (e: unknown): boolean => {
  assert.ok(isToolstackError(e) && e.code === 'MIGRATION', String(e));
  assert.match(e.message, /^Migration stalled: nothing was sent for \d+ ms$/);
  return true;
};

test('an outgoing migration that sends nothing for the stall time is ended: its writer killed, QEMU asked to cancel', async () => {
  let unblocked = false;
  const { qmp, commands } = peer(() => (unblocked ? { status: 'failed' } : { status: 'active', ram: { transferred: 4096 } }));
  const t0 = Date.now();
  await assert.rejects(migrateMachine(qmp, 'exec:true', 60_000, { ms: 150, unblock: () => { unblocked = true; } }), isStall);
  assert.ok(Date.now() - t0 >= 150);
  assert.equal(unblocked, true);
  // Cancelled, and the guest (running before) resumed once QEMU has ended the migration.
  assert.deepEqual(commands, ['migrate_cancel', 'cont']);
});

test('a monitor that stops answering (QEMU writing its last part into a full pipe) counts as no progress', async () => {
  let unblocked = false;
  const { qmp } = peer(() => (unblocked ? { status: 'failed' } : undefined));
  await assert.rejects(migrationDone(qmp, 'Migration', 60_000, { ms: 150, unblock: () => { unblocked = true; } }), isStall);
  assert.equal(unblocked, true);
});

test('after `completed`, a writer that never hands over the last bytes is ended and the machine resumed', async () => {
  let unblocked = false;
  let completed = false;
  const { qmp, commands } = peer(() => {
    if (!completed) {
      completed = true;
      return { status: 'completed' };
    }
    return unblocked ? { status: 'completed', 'total-time': 5 } : undefined;
  });
  await assert.rejects(migrateMachine(qmp, 'exec:true', 60_000, { ms: 150, unblock: () => { unblocked = true; } }), isStall);
  assert.equal(unblocked, true);
  assert.deepEqual(commands, ['migrate_cancel', 'cont']);
});

test('a migration whose stream moves is never taken for stalled, however long it takes', async () => {
  let sent = 0;
  const { qmp } = peer(() => (sent > 40 ? { status: 'completed' } : { status: 'active', ram: { transferred: ++sent } }));
  await migrationDone(qmp, 'Migration', 60_000, { ms: 30, unblock: () => assert.fail('unblocked') });
});

test('past 5 passes over RAM the downtime limit is lifted once, so the guest is stopped and the rest sent', async () => {
  let passes = 0;
  const { qmp, commands } = peer(() => (passes >= 8 ? { status: 'completed' } : { status: 'active', ram: { transferred: ++passes, 'dirty-sync-count': passes } }));
  await migrationDone(qmp, 'Migration', 60_000, { ms: 1000, unblock: () => assert.fail('unblocked') });
  assert.deepEqual(commands, ['migrate-set-parameters']);
});

test('a guest that shut down or crashed as its save began is not saved: no file, the error says so, its on_* action follows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-save-'));
  try {
    for (const [status, said] of [['shutdown', 'shut down or rebooted'], ['guest-panicked', 'crashed']] as const) {
      const { qmp, commands } = peer(() => ({ status: 'completed' }));
      Object.assign(qmp, { stop: () => Promise.resolve(), queryStatus: () => Promise.resolve({ running: false, status }) });
      const out = ReplacingFile.create(join(dir, 'g.save'), 'g.save.dom0-save');
      await assert.rejects(saveMachine(qmp, out, Buffer.from('header'), true, 10_000), (e: unknown) => {
        assert.ok(isToolstackError(e, 'DOMAIN_STATE'), String(e));
        assert.equal(e.message, `Cannot save to '${join(dir, 'g.save')}': the guest ${said} as the save began`);
        return true;
      });
      out.close();
      assert.deepEqual(readdirSync(dir), []);
      assert.ok(!commands.includes('migrate'));
    }
    // A shutdown QEMU took after the stop: the state stays `paused`, its event tells.
    const { qmp } = peer(() => ({ status: 'completed' }));
    const listeners = new Map<string, () => void>();
    Object.assign(qmp, {
      onEvent: (name: string, listener: () => void) => {
        listeners.set(name, listener);
        return () => listeners.delete(name);
      },
      stop: () => {
        listeners.get('SHUTDOWN')?.();
        return Promise.resolve();
      },
      queryStatus: () => Promise.resolve({ running: false, status: 'paused' }),
    });
    const out = ReplacingFile.create(join(dir, 'g.save'), 'g.save.dom0-save');
    await assert.rejects(saveMachine(qmp, out, Buffer.from('header'), true, 10_000), /the guest shut down or rebooted as the save began/);
    out.close();
    assert.deepEqual([readdirSync(dir), [...listeners.keys()]], [[], []]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the outgoing stream is written by cat alone, exec\'d by the shell (the one child a stall kills)', () => {
  assert.equal(outgoingTo("/run/x y/it's.fifo"), "exec:exec cat > '/run/x y/it'\\''s.fifo'");
});

test('a save file another user could have written is not opened for QEMU (its config is acted on as root\'s)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-save-'));
  try {
    const file = join(dir, 'x.save');
    writeFileSync(file, Buffer.alloc(256), { mode: 0o600 });
    closeSync(openSaveStream(file, 64));
    chmodSync(file, 0o666);
    assert.throws(() => openSaveStream(file, 64), (e: unknown) => isToolstackError(e, 'SAVE_FILE') && /: it is writable by everyone \(mode 666\)$/.test(e.message));
    if (process.getuid?.() === 0) {
      chmodSync(file, 0o600);
      chownSync(file, 1000, 1000);
      assert.throws(() => openSaveStream(file, 64), (e: unknown) => isToolstackError(e, 'SAVE_FILE') && /: it belongs to uid 1000$/.test(e.message));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
