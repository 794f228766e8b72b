import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Journal } from './journal.js';
import type { StoreRecord } from './store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'xs-journal-'));
  dirs.push(d);
  return d;
}

function put(path: string, value: string): StoreRecord {
  return { op: 'put', path, node: { value: Buffer.from(value), perms: [{ id: 0, perm: 'n' }, { id: 5, perm: 'r' }], children: ['a', 'b'] } };
}

const none = (): StoreRecord[] => [];

describe('xenstore journal', () => {
  it('replays every durable frame in order', async () => {
    const dir = tmp();
    const { journal, recovery } = Journal.open(dir, none, { sync: false });
    assert.equal(recovery.fresh, true);
    const s1 = journal.append([put('/x', '1'), { op: 'del', path: '/y' }]);
    const s2 = journal.append([{ op: 'domain', domid: 3, introduced: true, target: 2 }]);
    assert.equal(s2, s1 + 1);
    await journal.close();
    const again = Journal.open(dir, none, { sync: false });
    assert.deepEqual(again.recovery.records, [put('/x', '1'), { op: 'del', path: '/y' }, { op: 'domain', domid: 3, introduced: true, target: 2 }]);
    assert.equal(again.recovery.droppedBytes, 0);
    await again.journal.close();
  });

  it('refuses a state directory another live xenstored holds', async () => {
    const dir = tmp();
    const { journal } = Journal.open(dir, none, { sync: false });
    assert.throws(() => Journal.open(dir, none, { sync: false }), /xenstored \d+ is using it/);
    await journal.close();
    writeFileSync(join(dir, 'xenstored.pid'), '999999999\n');
    const again = Journal.open(dir, none, { sync: false });
    await again.journal.close();
  });

  it('drops a torn or corrupt last frame and keeps the rest', async () => {
    const dir = tmp();
    const { journal } = Journal.open(dir, none, { sync: false });
    journal.append([put('/keep', 'k')]);
    journal.append([put('/torn', 't')]);
    await journal.close();
    const file = join(dir, 'journal-0.log');
    truncateSync(file, statSync(file).size - 3);
    const r1 = Journal.open(dir, none, { sync: false });
    assert.deepEqual(r1.recovery.records, [put('/keep', 'k')]);
    assert.ok(r1.recovery.droppedBytes > 0);
    r1.journal.append([put('/after', 'a')]);
    await r1.journal.close();
    // A flipped byte in the last frame fails its checksum.
    const buf = readFileSync(file);
    appendFileSync(file, buf.subarray(8));
    const size = statSync(file).size;
    const b = readFileSync(file);
    b[size - 1] = b[size - 1]! ^ 0xff;
    truncateSync(file, 0);
    appendFileSync(file, b);
    const r2 = Journal.open(dir, none, { sync: false });
    assert.deepEqual(r2.recovery.records.slice(0, 2), [put('/keep', 'k'), put('/after', 'a')]);
    await r2.journal.close();
  });

  it('compacts into a snapshot and a fresh journal', async () => {
    const dir = tmp();
    let state: StoreRecord[] = [];
    const { journal } = Journal.open(dir, () => state, { sync: false, compactBytes: 200 });
    for (let i = 0; i < 20; i++) {
      state = [...state, put(`/n${i}`, 'v'.repeat(20))];
      journal.append([put(`/n${i}`, 'v'.repeat(20))]);
      await journal.drain();
    }
    await journal.close();
    assert.ok(existsSync(join(dir, 'snapshot')));
    assert.ok(!existsSync(join(dir, 'journal-0.log')));
    const again = Journal.open(dir, none, { sync: false });
    const paths = again.recovery.records.map((r) => (r.op === 'put' ? r.path : ''));
    assert.deepEqual([...new Set(paths)], state.map((r) => (r.op === 'put' ? r.path : '')));
    await again.journal.close();
  });
});
