// Acknowledged means durable, also on a full disk: xenstored's state directory is a small tmpfs
// this test mounts (root only), filled up while Debian's xenstore-* clients, raw frames and the
// TS client drive the server. A refused change fails with ENOSPC, leaves nothing behind (in
// memory, in the journal, in watch events), the server keeps serving, a kill -9 and restart
// keeps exactly the acknowledged changes, and writes succeed again once space is freed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startXenstored, XenstoreClient, XenstoreError } from '../../src/xenstore/index.js';
import type { XsServer } from './xenstore-harness.js';
import { haveXenstoreUtils, RawConn, startServer, xs } from './xenstore-harness.js';

const isRoot = process.getuid?.() === 0;
const WRITE = 11;
const ERROR = 16;

/** Fills the file system of `dir` with `dir/filler` until it is full. */
function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'a');
  const chunk = Buffer.alloc(4096, 0x5a);
  try {
    for (;;) {
      if (writeSync(fd, chunk) < chunk.length) break;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

function free(dir: string): void {
  unlinkSync(join(dir, 'filler'));
}

describe('xenstored on a full disk', { skip: (!isRoot && 'needs root to mount a tmpfs') || (!haveXenstoreUtils && 'xenstore-utils not installed') }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** A temp dir whose `state` is a tmpfs of `size`; unmounted and removed after the tests. */
  function tmpfsState(size: string): { dir: string; state: string } {
    const dir = mkdtempSync(join(tmpdir(), 'xs-full-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const state = join(dir, 'state');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', state]);
    cleanups.push(() => void execFileSync('umount', [state]));
    return { dir, state };
  }

  it('refuses what it cannot make durable, keeps serving, and recovers exactly what it acknowledged', async () => {
    const { dir, state } = tmpfsState('128k');
    const servers: XsServer[] = [];
    cleanups.push(async () => {
      for (const s of servers) await s.cleanup();
    });
    const first = await startServer({ dir });
    servers.push(first);
    const S = first.socket;

    const watcher = await XenstoreClient.connect(S);
    cleanups.push(() => watcher.close());
    const w = await watcher.watch('/full');
    assert.equal((await w.next()).path, '/full');

    const acked = new Map<string, string>();
    const refused: string[] = [];
    const big = (i: number): string => `${i}-${'v'.repeat(1000)}`;
    /** xenstore-write -s (no transaction) of 1000-byte values until one is refused. */
    const writeUntilRefused = async (from: number): Promise<number> => {
      for (let i = from; i < from + 40; i++) {
        const path = `/full/s${i}`;
        const r = await xs(S, 'xenstore-write', ['-s', path, big(i)]);
        if (r.code === 0) {
          acked.set(path, big(i));
          continue;
        }
        assert.match(r.stderr, /could not write path|No space left/i);
        refused.push(path);
        return i + 1;
      }
      assert.fail('the disk never filled up');
    };

    assert.equal((await xs(S, 'xenstore-write', ['-s', '/full/before', 'ok'])).code, 0);
    acked.set('/full/before', 'ok');
    fill(state);
    const next = await writeUntilRefused(0);
    assert.ok(acked.size >= 2, 'the journal page had room for some writes');

    // The refused value is not in the store; the server goes on serving.
    assert.equal((await xs(S, 'xenstore-exists', [refused[0]!])).code, 1);
    assert.equal((await xs(S, 'xenstore-read', ['/full/before'])).stdout, 'ok\n');

    // A transaction (xenstore-write without -s) whose commit cannot be journalled leaves nothing.
    const tx = await xs(S, 'xenstore-write', ['/full/tx/a', big(1), '/full/tx/b', big(2)]);
    assert.notEqual(tx.code, 0);
    refused.push('/full/tx/a', '/full/tx/b');
    assert.equal((await xs(S, 'xenstore-exists', ['/full/tx'])).code, 1);

    // On the wire the refusal is Xen's ENOSPC.
    const raw = await RawConn.open(S);
    const r = await raw.call(WRITE, Buffer.concat([Buffer.from('/full/raw\0'), Buffer.alloc(3000, 0x41)]), { reqId: 5 });
    assert.deepEqual(r && [r.type, r.reqId, r.text], [ERROR, 5, 'ENOSPC\0']);
    refused.push('/full/raw');
    raw.close();

    // The TS client over the socket: the same error, the same connection goes on.
    const ts = await XenstoreClient.connect(S);
    await assert.rejects(ts.write('/full/ts', big(3)), (e: unknown) => e instanceof XenstoreError && e.errno === 'ENOSPC');
    refused.push('/full/ts');
    assert.equal(await ts.readString('/full/before'), 'ok');

    // Space returns: writes succeed again, no restart.
    free(state);
    assert.equal((await xs(S, 'xenstore-write', ['/full/after/a', 'A', '/full/after/b', 'B'])).code, 0);
    acked.set('/full/after/a', 'A').set('/full/after/b', 'B');
    await ts.write('/full/after/ts', big(4));
    acked.set('/full/after/ts', big(4));

    // Full again: refused again.
    fill(state);
    await writeUntilRefused(next);

    // Watch events: every acknowledged change, no refused one (the sentinel comes last).
    free(state);
    await ts.write('/full/sentinel', 'end');
    acked.set('/full/sentinel', 'end');
    const seen = new Set<string>();
    for (;;) {
      const ev = await w.next();
      seen.add(ev.path);
      if (ev.path === '/full/sentinel') break;
    }
    for (const p of acked.keys()) assert.ok(seen.has(p), `no watch event for acknowledged ${p}`);
    for (const p of refused) assert.ok(!seen.has(p), `a watch event for refused ${p}`);
    ts.close();
    watcher.close();

    // kill -9 on a full disk; the restart finds a well-formed journal with exactly the acknowledged.
    fill(state);
    await first.kill9();
    const second = await startServer({ dir });
    servers.push(second);
    assert.deepEqual(second.stderr.filter((l) => /torn|damaged|corrupt|could not/.test(l)), []);
    const c = await XenstoreClient.connect(second.socket);
    for (const [p, v] of acked) assert.equal(await c.tryRead(p), v, p);
    for (const p of refused) assert.equal(await c.exists(p), false, p);
    free(state);
    await c.write('/full/restarted', 'yes');
    assert.equal(await c.readString('/full/restarted'), 'yes');
    c.close();
    await second.stop();
  });

  it('compacts into a snapshot only when the new one is complete, and not at all on a full disk', async () => {
    const { dir, state } = tmpfsState('64k');
    const log: string[] = [];
    const opts = { socketPath: join(dir, 'run', 'socket'), stateDir: state, compactBytes: 2048, log: (l: string) => void log.push(l) };
    const h = await startXenstored(opts);
    let open = true;
    cleanups.push(() => (open ? h.close() : undefined));
    const c = h.connect();
    await h.introduceDomain(5);
    const acked = new Map<string, string>();
    const value = (i: number): string => `${i}-${'c'.repeat(300)}`;
    for (let i = 0; i < 12; i++) {
      await c.write(`/k/${i}`, value(i));
      acked.set(`/k/${i}`, value(i));
    }
    assert.ok(existsSync(join(state, 'snapshot')), 'a first compaction succeeded');

    // A page left: the journal grows past the snapshot's size (where the next compaction comes,
    // which has no room for its snapshot) before it runs out.
    const size = statSync(join(state, 'snapshot')).size;
    assert.ok(size > 4096 && size < 7000, String(size));
    fill(state);
    truncateSync(join(state, 'filler'), statSync(join(state, 'filler')).size - 4096);
    const snapshot = readFileSync(join(state, 'snapshot'));
    const refused: string[] = [];
    for (let i = 12; i < 60 && refused.length === 0; i++) {
      try {
        await c.write(`/k/${i}`, value(i));
        acked.set(`/k/${i}`, value(i));
      } catch (e) {
        assert.ok(e instanceof XenstoreError && e.errno === 'ENOSPC', String(e));
        refused.push(`/k/${i}`);
      }
    }
    assert.equal(refused.length, 1);
    assert.ok(log.some((l) => /compact/i.test(l) && /no space/i.test(l)), log.join('\n'));
    assert.deepEqual(readFileSync(join(state, 'snapshot')), snapshot, 'the old snapshot is untouched');
    assert.deepEqual(readdirSync(state).filter((f) => f !== 'filler' && f !== 'xenstored.pid').sort().length, 2, readdirSync(state).join(' '));

    // What a crash would leave now: a copy of the state directory opens with every acknowledged change.
    const copy = join(dir, 'copy');
    cpSync(state, copy, { recursive: true, filter: (src) => !src.endsWith('filler') && !src.endsWith('xenstored.pid') });
    const h2 = await startXenstored({ socketPath: join(dir, 'run2', 'socket'), stateDir: copy });
    const c2 = h2.connect();
    for (const [p, v] of acked) assert.equal(await c2.tryRead(p), v, p);
    for (const p of refused) assert.equal(await c2.exists(p), false, p);
    assert.equal(await c2.isDomainIntroduced(5), true);
    c2.close();
    await h2.close();

    // Space returns: writes go on, and a later compaction replaces the snapshot.
    free(state);
    for (let i = 100; i < 130; i++) {
      await c.write(`/k/${i}`, value(i));
      acked.set(`/k/${i}`, value(i));
    }
    assert.notDeepEqual(readFileSync(join(state, 'snapshot')), snapshot);
    c.close();
    open = false;
    await h.close();
    const h3 = await startXenstored(opts);
    const c3 = h3.connect();
    for (const [p, v] of acked) assert.equal(await c3.tryRead(p), v, p);
    assert.equal(await c3.isDomainIntroduced(5), true, 'introduced domains survive compaction');
    c3.close();
    await h3.close();

    // Started on a full disk after a clean stop: it serves what it has, and refuses what it cannot keep.
    fill(state);
    try {
      const h4 = await startXenstored(opts);
      const c4 = h4.connect();
      try {
        for (const [p, v] of acked) assert.equal(await c4.tryRead(p), v, p);
        // The journal's last page may still take a write or two.
        let refused4: unknown;
        for (let i = 0; i < 20 && refused4 === undefined; i++) await c4.write(`/k/full${i}`, 'v'.repeat(3000)).catch((e: unknown) => (refused4 = e));
        assert.ok(refused4 instanceof XenstoreError && refused4.errno === 'ENOSPC', String(refused4));
      } finally {
        c4.close();
        await h4.close();
      }
      assert.ok(!existsSync(join(state, 'xenstored.pid')), 'its claim goes at a clean stop');
    } finally {
      free(state);
    }
  });
});
