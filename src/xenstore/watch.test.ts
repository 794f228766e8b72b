import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Accessor, Perms } from './perms.js';
import type { Watcher } from './watch.js';
import { WatchTable } from './watch.js';

function watcher(accessor: Accessor): Watcher & { got: string[] } {
  const got: string[] = [];
  return { accessor, got, deliver: (p, t) => void got.push(`${p} ${t}`) };
}

const OPEN: Perms = [{ id: 0, perm: 'r' }];
const CLOSED: Perms = [{ id: 0, perm: 'n' }];

describe('xenstore watches', () => {
  it('fires for the watched node and everything below, not for siblings', () => {
    const t = new WatchTable();
    const w = watcher({ domid: 0, privileged: true });
    t.add({ owner: w, path: '/a', token: 'tok', prefixLen: 0 });
    t.add({ owner: w, path: '/', token: 'root', prefixLen: 0 });
    t.fire({ path: '/a/b/c', exact: false }, true);
    t.fire({ path: '/ab', exact: false }, true);
    t.fire({ path: '/a', exact: true }, true);
    assert.deepEqual(w.got, ['/a/b/c tok', '/a/b/c root', '/ab root', '/a tok']);
  });

  it('exact events (descendants of a removed subtree) reach only watches on that path', () => {
    const t = new WatchTable();
    const w = watcher({ domid: 0, privileged: true });
    t.add({ owner: w, path: '/a', token: 'up', prefixLen: 0 });
    t.add({ owner: w, path: '/a/b/c', token: 'deep', prefixLen: 0 });
    t.fire({ path: '/a/b/c', exact: true }, true);
    assert.deepEqual(w.got, ['/a/b/c deep']);
  });

  it('reports relative paths for relative watches', () => {
    const t = new WatchTable();
    const w = watcher({ domid: 3, privileged: false });
    t.add({ owner: w, path: '/local/domain/3/data', token: 't', prefixLen: '/local/domain/3/'.length });
    t.fire({ path: '/local/domain/3/data/x', exact: false, perms: [{ id: 3, perm: 'n' }] }, true);
    assert.deepEqual(w.got, ['data/x t']);
  });

  it('hides events from watchers who may read neither node nor parent', () => {
    const t = new WatchTable();
    const w = watcher({ domid: 7, privileged: false });
    t.add({ owner: w, path: '/', token: 't', prefixLen: 0 });
    t.fire({ path: '/s', exact: false, perms: CLOSED, parentPerms: CLOSED }, true);
    t.fire({ path: '/p', exact: false, perms: CLOSED, parentPerms: OPEN }, true);
    t.fire({ path: '/q', exact: false, perms: CLOSED, parentPerms: CLOSED, oldPerms: OPEN }, true);
    t.fire({ path: '/gone', exact: false }, true);
    assert.deepEqual(w.got, ['/p t', '/q t']);
  });

  it('special watches follow the special node\'s permissions', () => {
    const t = new WatchTable();
    const priv = watcher({ domid: 0, privileged: true });
    const guest = watcher({ domid: 4, privileged: false });
    t.add({ owner: priv, path: '@releaseDomain', token: 'r', prefixLen: 0 });
    t.add({ owner: guest, path: '@releaseDomain', token: 'g', prefixLen: 0 });
    t.fireSpecial('@releaseDomain', CLOSED, true);
    t.fireSpecial('@releaseDomain', [{ id: 0, perm: 'n' }, { id: 4, perm: 'r' }], true);
    assert.deepEqual(priv.got, ['@releaseDomain r', '@releaseDomain r']);
    assert.deepEqual(guest.got, ['@releaseDomain g']);
    t.fire({ path: '/x', exact: false }, true);
    assert.equal(t.size, 2);
  });
});
