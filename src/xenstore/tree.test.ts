import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalize } from './paths.js';
import type { Accessor } from './perms.js';
import { parsePerm } from './perms.js';
import { Quotas } from './quota.js';
import { Store } from './store.js';
import type { ChangeEvent, OpContext, TreeView } from './tree.js';
import { directoryPart, getPerms, listChildren, makeDir, readValue, removeNode, setPerms, writeValue } from './tree.js';
import { XsFault } from './wire.js';

const DOM0: Accessor = { domid: 0, privileged: true };
const DOM5: Accessor = { domid: 5, privileged: false };

function live(store: Store, events: ChangeEvent[] = []): TreeView {
  return {
    get: (p) => store.get(p),
    put: (p, d) => void store.set(p, d),
    removeTree: (r, ps) => store.removeTree(r, ps),
    changed: (ev) => void events.push(ev),
    ownedBy: (d) => store.ownedBy(d),
  };
}

function ctx(store: Store, who: Accessor, quotas = new Quotas(), events: ChangeEvent[] = []): OpContext {
  return { view: live(store, events), who, quotas };
}

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof XsFault) return e.errno;
    throw e;
  }
  return 'OK';
}

const b = (s: string): Buffer => Buffer.from(s);

describe('xenstore tree', () => {
  it('starts with Xen\'s initial nodes', () => {
    const s = Store.initial();
    assert.deepEqual(listChildren(ctx(s, DOM0), '/'), ['tool']);
    assert.deepEqual(listChildren(ctx(s, DOM0), '/tool'), ['xenstored']);
    assert.deepEqual(getPerms(ctx(s, DOM0), '@releaseDomain'), [{ id: 0, perm: 'n' }]);
  });

  it('write creates missing parents with empty values, children in creation order', () => {
    const s = Store.initial();
    const c = ctx(s, DOM0);
    writeValue(c, '/vm/abc/name', b('hello'));
    writeValue(c, '/vm/abc/a', b('1'));
    assert.equal(readValue(c, '/vm/abc/name').toString(), 'hello');
    assert.equal(readValue(c, '/vm').length, 0);
    assert.deepEqual(listChildren(c, '/vm/abc'), ['name', 'a']);
    assert.deepEqual(listChildren(c, '/'), ['tool', 'vm']);
  });

  it('rm is recursive; a missing node is fine only if its parent exists', () => {
    const s = Store.initial();
    const c = ctx(s, DOM0);
    writeValue(c, '/a/b/c', b('x'));
    removeNode(c, '/a/b');
    assert.equal(errno(() => readValue(c, '/a/b/c')), 'ENOENT');
    assert.deepEqual(listChildren(c, '/a'), []);
    assert.equal(errno(() => removeNode(c, '/a/zz')), 'OK');
    assert.equal(errno(() => removeNode(c, '/q/zz')), 'ENOENT');
    assert.equal(errno(() => removeNode(c, '/')), 'EINVAL');
    makeDir(c, '/a');
    makeDir(c, '/m/n');
    assert.deepEqual(listChildren(c, '/m'), ['n']);
  });

  it('rm fires children first, exact below the removed root', () => {
    const s = Store.initial();
    const events: ChangeEvent[] = [];
    writeValue(ctx(s, DOM0), '/a/b/c', b('x'));
    removeNode(ctx(s, DOM0, new Quotas(), events), '/a/b');
    assert.deepEqual(events.map((e) => [e.path, e.exact]), [['/a/b/c', true], ['/a/b', false]]);
  });

  it('unprivileged access follows owner, default and per-domain entries', () => {
    const s = Store.initial();
    const c0 = ctx(s, DOM0);
    writeValue(c0, '/secret/x', b('1'));
    writeValue(c0, '/shared/x', b('2'));
    setPerms(c0, '/shared', [parsePerm('n0'), parsePerm('r5')]);
    setPerms(c0, '/shared/x', [parsePerm('n0'), parsePerm('r5')]);
    const c5 = ctx(s, DOM5);
    assert.equal(errno(() => readValue(c5, '/secret/x')), 'EACCES');
    assert.equal(errno(() => readValue(c5, '/secret/missing')), 'EACCES');
    assert.equal(readValue(c5, '/shared/x').toString(), '2');
    assert.equal(errno(() => readValue(c5, '/shared/missing')), 'ENOENT');
    assert.equal(errno(() => writeValue(c5, '/shared/x', b('3'))), 'EACCES');
    assert.equal(errno(() => writeValue(c5, '/shared/new', b('3'))), 'EACCES');
  });

  it('a node created by a domain is owned by it and inherits the other entries', () => {
    const s = Store.initial();
    const c0 = ctx(s, DOM0);
    makeDir(c0, '/local/domain/5');
    setPerms(c0, '/local/domain/5', [parsePerm('n0'), parsePerm('b5'), parsePerm('r7')]);
    const c5 = ctx(s, DOM5);
    writeValue(c5, '/local/domain/5/data/x', b('v'));
    assert.deepEqual(getPerms(c0, '/local/domain/5/data/x'), [{ id: 5, perm: 'n' }, { id: 5, perm: 'b' }, { id: 7, perm: 'r' }]);
    assert.equal(s.ownedBy(5), 2);
    // The owner may set permissions but not hand the node to another owner.
    setPerms(c5, '/local/domain/5/data/x', [parsePerm('n5'), parsePerm('r0')]);
    assert.equal(errno(() => setPerms(c5, '/local/domain/5/data/x', [parsePerm('n7')])), 'EPERM');
    assert.equal(errno(() => setPerms(c5, '/local/domain/5', [parsePerm('n5')])), 'EACCES');
  });

  it('enforces nodes, node-size and node-permissions quotas for unprivileged callers only', () => {
    const s = Store.initial();
    const c0 = ctx(s, DOM0);
    makeDir(c0, '/h');
    setPerms(c0, '/h', [parsePerm('b0')]);
    const q = new Quotas({ nodes: 3, 'node-size': 100, 'node-permissions': 2 });
    const c5 = ctx(s, DOM5, q);
    writeValue(c5, '/h/a', b('1'));
    writeValue(c5, '/h/b', b('1'));
    assert.equal(errno(() => writeValue(c5, '/h/c/d', b('1'))), 'ENOSPC');
    assert.equal(errno(() => readValue(c5, '/h/c')), 'ENOENT');
    writeValue(c5, '/h/c', b('1'));
    assert.equal(errno(() => writeValue(c5, '/h/d', b('1'))), 'ENOSPC');
    assert.equal(errno(() => writeValue(c5, '/h/a', Buffer.alloc(200))), 'ENOSPC');
    assert.equal(errno(() => setPerms(c5, '/h/a', [parsePerm('n5'), parsePerm('r1'), parsePerm('r2')])), 'ENOSPC');
    writeValue(ctx(s, DOM0, q), '/h/big', Buffer.alloc(3000));
  });

  it('DIRECTORY_PART pages the child list by byte offset with a generation', () => {
    const s = Store.initial();
    const c = ctx(s, DOM0);
    for (let i = 0; i < 500; i++) makeDir(c, `/d/child-number-${i}`);
    const names: string[] = [];
    let off = 0;
    let gen: string | undefined;
    for (;;) {
      const reply = directoryPart(c, '/d', off);
      const parts = reply.toString('latin1').split('\0');
      gen ??= parts[0];
      assert.equal(parts[0], gen);
      const got = parts.slice(1).filter((x) => x !== '');
      names.push(...got);
      off += got.reduce((n, x) => n + x.length + 1, 0);
      if (reply.subarray(-2).equals(Buffer.from([0, 0]))) break;
      assert.ok(reply.length <= 4096);
    }
    assert.equal(names.length, 500);
    assert.equal(directoryPart(c, '/d', 1e9).toString('latin1'), `${gen}\0\0`);
  });
});

describe('xenstore paths and permission strings', () => {
  const opts = { domid: 3, allowSpecial: false, pathMax: 0 };
  it('canonicalizes relative paths under the home and rejects bad ones', () => {
    assert.deepEqual(canonicalize('data/x', opts), { path: '/local/domain/3/data/x', prefixLen: 16 });
    assert.equal(canonicalize('/', opts).path, '/');
    for (const bad of ['', '/a/', '/a//b', '/a b', '/a.b', '@introduceDomain', 'x/']) {
      assert.equal(errno(() => canonicalize(bad, opts)), 'EINVAL', bad);
    }
    assert.equal(canonicalize('@releaseDomain', { ...opts, allowSpecial: true }).path, '@releaseDomain');
    assert.equal(errno(() => canonicalize(`/local/domain/3/${'x'.repeat(11)}`, { ...opts, pathMax: 10 })), 'EINVAL');
    assert.equal(canonicalize(`/local/domain/3/${'x'.repeat(10)}`, { ...opts, pathMax: 10 }).prefixLen, 0);
  });

  it('parses permission strings like strtol(…, 0)', () => {
    assert.deepEqual(parsePerm('b0x10'), { id: 16, perm: 'b' });
    assert.deepEqual(parsePerm('r010'), { id: 8, perm: 'r' });
    assert.deepEqual(parsePerm('n0'), { id: 0, perm: 'n' });
    for (const bad of ['x1', 'r', 'r5a', '5', 'w 5x']) assert.equal(errno(() => parsePerm(bad)), 'EINVAL', bad);
  });
});
