import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Accessor } from './perms.js';
import { Quotas } from './quota.js';
import { Store } from './store.js';
import { Transaction } from './transaction.js';
import type { OpContext, TreeView } from './tree.js';
import { listChildren, readValue, removeNode, writeValue } from './tree.js';
import { XsFault } from './wire.js';

const DOM0: Accessor = { domid: 0, privileged: true };
const quotas = new Quotas();

function liveCtx(store: Store): OpContext {
  const view: TreeView = {
    get: (p) => store.get(p),
    put: (p, d) => void store.set(p, d),
    removeTree: (r, ps) => store.removeTree(r, ps),
    changed: () => {},
    ownedBy: (d) => store.ownedBy(d),
  };
  return { view, who: DOM0, quotas };
}

let txIds = 0;
function begin(store: Store): { tx: Transaction; ctx: OpContext } {
  const tx = new Transaction(++txIds, 0, true, store, quotas);
  return { tx, ctx: { view: tx, who: DOM0, quotas } };
}

function commitErrno(tx: Transaction): string {
  try {
    tx.commit();
    return 'OK';
  } catch (e) {
    if (e instanceof XsFault) return e.errno;
    throw e;
  }
}

const b = (s: string): Buffer => Buffer.from(s);

describe('xenstore transactions', () => {
  it('keeps changes private until commit', () => {
    const s = Store.initial();
    const { tx, ctx } = begin(s);
    writeValue(ctx, '/a/b', b('1'));
    assert.equal(readValue(ctx, '/a/b').toString(), '1');
    assert.equal(s.get('/a/b'), undefined);
    const events = tx.commit();
    assert.equal(readValue(liveCtx(s), '/a/b').toString(), '1');
    assert.deepEqual(events.map((e) => e.path), ['/a/b']);
  });

  it('fails with EAGAIN when a node it read changed, applying nothing', () => {
    const s = Store.initial();
    writeValue(liveCtx(s), '/a', b('0'));
    const { tx, ctx } = begin(s);
    readValue(ctx, '/a');
    writeValue(ctx, '/b', b('from-tx'));
    writeValue(liveCtx(s), '/a', b('1'));
    assert.equal(commitErrno(tx), 'EAGAIN');
    assert.equal(s.get('/b'), undefined);
  });

  it('fails when a node it wrote changed meanwhile (every write reads first)', () => {
    const s = Store.initial();
    writeValue(liveCtx(s), '/a', b('0'));
    const { tx, ctx } = begin(s);
    writeValue(ctx, '/a', b('tx'));
    writeValue(liveCtx(s), '/a', b('other'));
    assert.equal(commitErrno(tx), 'EAGAIN');
    assert.equal(s.get('/a')?.value.toString(), 'other');
  });

  it('fails when a node it found missing was created meanwhile', () => {
    const s = Store.initial();
    const { tx, ctx } = begin(s);
    assert.throws(() => readValue(ctx, '/n'));
    writeValue(liveCtx(s), '/n', b('x'));
    assert.equal(commitErrno(tx), 'EAGAIN');
  });

  it('commits when only unrelated nodes changed', () => {
    const s = Store.initial();
    writeValue(liveCtx(s), '/a/x', b('0'));
    writeValue(liveCtx(s), '/b/y', b('0'));
    const { tx, ctx } = begin(s);
    writeValue(ctx, '/a/x', b('tx'));
    writeValue(liveCtx(s), '/b/y', b('1'));
    assert.equal(commitErrno(tx), 'OK');
    assert.equal(s.get('/a/x')?.value.toString(), 'tx');
  });

  it('a read-only transaction is checked too', () => {
    const s = Store.initial();
    writeValue(liveCtx(s), '/a', b('0'));
    const { tx, ctx } = begin(s);
    readValue(ctx, '/a');
    removeNode(liveCtx(s), '/a');
    assert.equal(commitErrno(tx), 'EAGAIN');
  });

  it('applies removals and re-creations as one change', () => {
    const s = Store.initial();
    writeValue(liveCtx(s), '/d/old/deep', b('1'));
    writeValue(liveCtx(s), '/d/keep', b('1'));
    s.takeRecords();
    const { tx, ctx } = begin(s);
    removeNode(ctx, '/d');
    writeValue(ctx, '/d/new', b('2'));
    tx.commit();
    assert.deepEqual(listChildren(liveCtx(s), '/d'), ['new']);
    assert.equal(s.get('/d/old/deep'), undefined);
    assert.equal(s.get('/d/keep'), undefined);
    // The records replay to the same tree.
    const replayed = Store.initial();
    writeValue(liveCtx(replayed), '/d/old/deep', b('1'));
    writeValue(liveCtx(replayed), '/d/keep', b('1'));
    replayed.replay(s.takeRecords());
    replayed.repair();
    assert.deepEqual([...replayed.dump()].map((r) => (r.op === 'put' ? r.path : '')), [...s.dump()].map((r) => (r.op === 'put' ? r.path : '')));
  });

  it('removals of many subtrees, names that sort inside another\'s (`b-x` between `b` and `b/c`), are each journalled once and replay to the same tree', () => {
    const s = Store.initial();
    const made = ['/d/b/c', '/d/b/c/e', '/d/b-x/y', '/d/b0', '/d/bb/z', ...Array.from({ length: 300 }, (_, i) => `/d/many/n${String(i)}/leaf`)];
    for (const p of made) writeValue(liveCtx(s), p, b('1'));
    s.takeRecords();
    const { tx, ctx } = begin(s);
    for (const p of ['/d/b', '/d/b-x/y', '/d/bb', ...Array.from({ length: 300 }, (_, i) => `/d/many/n${String(i)}`)]) removeNode(ctx, p);
    tx.commit();
    assert.deepEqual(listChildren(liveCtx(s), '/d'), ['b-x', 'b0', 'many']);
    assert.deepEqual(listChildren(liveCtx(s), '/d/b-x'), []);
    assert.deepEqual(listChildren(liveCtx(s), '/d/many'), []);
    const records = s.takeRecords();
    assert.deepEqual(records.filter((r) => r.op === 'del').length, 303);
    const replayed = Store.initial();
    for (const p of made) writeValue(liveCtx(replayed), p, b('1'));
    replayed.replay(records);
    replayed.repair();
    assert.deepEqual([...replayed.dump()].map((r) => (r.op === 'put' ? r.path : '')), [...s.dump()].map((r) => (r.op === 'put' ? r.path : '')));
  });

  it('limits the nodes one transaction may touch for unprivileged domains', () => {
    const s = Store.initial();
    const q = new Quotas({ 'transaction-nodes': 3 });
    const tx = new Transaction(1, 5, false, s, q);
    tx.get('/');
    tx.get('/a');
    tx.get('/b');
    assert.throws(() => tx.get('/c'), (e: unknown) => e instanceof XsFault && e.errno === 'ENOSPC');
  });

  it('a change that trips the quota half way leaves the transaction as it was: no change, no watch event of it at commit', () => {
    const s = Store.initial();
    const live = liveCtx(s);
    writeValue(live, '/d5/x', b('kept'));
    for (const c of ['c1', 'c2', 'c3', 'c4']) writeValue(live, `/d5/r/${c}`, b(c));
    for (const p of ['/d5', '/d5/x', '/d5/r', '/d5/r/c1', '/d5/r/c2', '/d5/r/c3', '/d5/r/c4']) s.set(p, { ...s.get(p)!, perms: [{ id: 5, perm: 'n' }] });
    const q = new Quotas({ 'transaction-nodes': 3 });
    const enospc = (e: unknown): boolean => e instanceof XsFault && e.errno === 'ENOSPC';
    const begin5 = (): { tx: Transaction; ctx: OpContext } => {
      const tx = new Transaction(1, 5, false, s, q);
      return { tx, ctx: { view: tx, who: { domid: 5, privileged: false }, quotas: q } };
    };
    // The write is made, then its parent, read for the watch event, is one node too many.
    const w = begin5();
    w.tx.get('/');
    w.tx.get('/zz');
    assert.throws(() => w.tx.atomically(() => writeValue(w.ctx, '/d5/x', b('changed'))), enospc);
    assert.deepEqual(w.tx.commit(), []);
    assert.equal(s.get('/d5/x')!.value.toString(), 'kept');
    // The removal walks the subtree, marking each node for its watch event, until one too many.
    const r = begin5();
    assert.throws(() => r.tx.atomically(() => removeNode(r.ctx, '/d5/r')), enospc);
    r.tx.atomically(() => writeValue(r.ctx, '/d5/r/c1', b('again')));
    assert.deepEqual(r.tx.commit().map((e) => e.path), ['/d5/r/c1']);
    assert.deepEqual(s.get('/d5/r')!.children, ['c1', 'c2', 'c3', 'c4']);
  });
});
