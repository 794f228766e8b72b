// Durability: kill -9 under write load, restart on the same state directory, and every
// acknowledged write and committed transaction is there; a torn journal tail is dropped.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { XenstoreClient, XenstoreError } from '../../src/xenstore/index.js';
import type { XsServer } from './xenstore-harness.js';
import { startServer } from './xenstore-harness.js';

describe('xenstored crash recovery', () => {
  const servers: XsServer[] = [];
  after(async () => {
    for (const s of servers.reverse()) await s.cleanup();
  });

  it('keeps every acknowledged change across kill -9 and drops a torn tail', async () => {
    const first = await startServer();
    servers.push(first);
    const acked = new Map<string, string>();
    const ackedTx: number[] = [];
    let stop = false;
    const clients = await Promise.all([0, 1, 2, 3].map(() => XenstoreClient.connect(first.socket)));
    const writer = async (c: XenstoreClient, lane: string): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const path = `/crash/${lane}/${n}`;
        const value = `v${n}-${'x'.repeat(n % 50)}`;
        try {
          await c.write(path, value);
        } catch (e) {
          if (e instanceof XenstoreError) return;
          throw e;
        }
        acked.set(path, value);
      }
    };
    const txWriter = async (c: XenstoreClient): Promise<void> => {
      for (let n = 0; !stop; n++) {
        try {
          await c.transaction(async (t) => {
            await t.write(`/crash/tx/${n}/a`, 'A');
            await t.write(`/crash/tx/${n}/b`, 'B');
            await t.write('/crash/tx/last', String(n));
          });
        } catch (e) {
          if (e instanceof XenstoreError) return;
          throw e;
        }
        ackedTx.push(n);
      }
    };
    const load = [
      ...clients.slice(0, 3).flatMap((c, i) => [0, 1, 2, 3].map((j) => writer(c, `w${i}-${j}`))),
      txWriter(clients[3]!),
      txWriter(clients[3]!),
    ];
    await new Promise((r) => setTimeout(r, 800));
    await first.kill9();
    stop = true;
    await Promise.all(load);
    for (const c of clients) c.close();
    assert.ok(acked.size > 50, `only ${acked.size} writes acknowledged before the kill`);
    if (process.env['XS_CRASH_VERBOSE'] === '1') console.error(`acknowledged: ${acked.size} writes, ${ackedTx.length} transactions`);

    // A torn record at the end of the journal, as a crash mid-write leaves it. The journal is
    // the snapshot's epoch's: the kill may cut a compaction short and leave a stale one beside
    // it, or cut a write short and leave a torn frame already (the tail is then longer).
    const snapshot = join(first.stateDir, 'snapshot');
    const epoch = existsSync(snapshot) ? readFileSync(snapshot).readUInt32LE(8) : 0;
    const journal = `journal-${epoch}.log`;
    assert.ok(readdirSync(first.stateDir).includes(journal), `${journal} in ${readdirSync(first.stateDir).join(' ')}`);
    appendFileSync(join(first.stateDir, journal), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 9, 9]));

    const second = await startServer({ dir: first.dir });
    servers.push(second);
    const torn = second.stderr.map((l) => new RegExp(`${journal}: dropped a torn journal tail of (\\d+) bytes`).exec(l)).find((m) => m !== null);
    assert.ok(torn !== undefined && Number(torn[1]) >= 10, second.stderr.join('\n'));
    const c = await XenstoreClient.connect(second.socket);
    const entries = [...acked];
    for (let i = 0; i < entries.length; i += 256) {
      const chunk = entries.slice(i, i + 256);
      const got = await Promise.all(chunk.map(([p]) => c.tryRead(p)));
      chunk.forEach(([p, v], k) => assert.equal(got[k], v, p));
    }
    for (const n of ackedTx) {
      assert.equal(await c.tryRead(`/crash/tx/${n}/a`), 'A');
      assert.equal(await c.tryRead(`/crash/tx/${n}/b`), 'B');
    }
    // Transactions are all-or-nothing: every one present has both halves.
    for (const n of await c.directory('/crash/tx')) {
      if (n === 'last') continue;
      assert.deepEqual(await c.directory(`/crash/tx/${n}`), ['a', 'b']);
    }
    c.close();
    await second.stop();
  });
});
