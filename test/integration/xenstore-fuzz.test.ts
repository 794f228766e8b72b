// Malformed and hostile input: the server answers with an error or closes only the offending
// connection, stays up, and the tree other clients see does not change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XenstoreClient, XS_ERRNOS } from '../../src/xenstore/index.js';
import type { XsServer } from './xenstore-harness.js';
import { RawConn, startServer } from './xenstore-harness.js';
import { rng } from '../support/rng.js';

const ERROR = 16;

async function dumpTree(c: XenstoreClient, path = '/', out = new Map<string, string>()): Promise<Map<string, string>> {
  out.set(path, `${(await c.read(path)).toString('latin1')} ${(await c.getPerms(path)).join(',')}`);
  for (const child of await c.directory(path)) await dumpTree(c, path === '/' ? `/${child}` : `${path}/${child}`, out);
  return out;
}

describe('xenstored under malformed input', () => {
  let srv: XsServer;
  let dom0: XenstoreClient;
  let before_: Map<string, string>;
  before(async () => {
    srv = await startServer();
    dom0 = await XenstoreClient.connect(srv.socket);
    await dom0.write('/sentinel/a', 'one');
    await dom0.write('/sentinel/b', 'two');
    await dom0.setPerms('/sentinel/b', ['n0', 'r9']);
    await dom0.introduce(9);
    await dom0.mkdir('/local/domain/9');
    await dom0.setPerms('/local/domain/9', ['n0', 'r9']);
    await dom0.mkdir('/local/domain/9/data');
    await dom0.setPerms('/local/domain/9/data', ['n9']);
    before_ = await dumpTree(dom0);
  });
  after(async () => {
    dom0.close();
    await srv.cleanup();
  });

  async function assertUnchanged(): Promise<void> {
    const now = await dumpTree(dom0);
    for (const k of [...now.keys()]) if (k.startsWith('/local/domain/9/data/')) now.delete(k);
    const was = new Map([...before_].filter(([k]) => !k.startsWith('/local/domain/9/data/')));
    now.set('/local/domain/9/data', was.get('/local/domain/9/data')!);
    assert.deepEqual(now, was);
  }

  it('an oversized length closes only that connection', async () => {
    const bad = await RawConn.open(srv.socket);
    const good = await RawConn.open(srv.socket);
    bad.frame(2, '/sentinel/a\0', { len: 4097 });
    assert.equal(await bad.next(), undefined);
    const r = await good.call(2, '/sentinel/a\0', { reqId: 7 });
    assert.deepEqual(r, { type: 2, reqId: 7, txId: 0, text: 'one' });
    const huge = await RawConn.open(srv.socket);
    huge.frame(1, '', { len: 0xffffffff });
    assert.equal(await huge.next(), undefined);
    good.close();
  });

  it('a payload of exactly 4096 bytes is accepted; 4097 is not', async () => {
    const c = await RawConn.open(srv.socket);
    const head = '/big\0';
    const r = await c.call(11, Buffer.concat([Buffer.from(head), Buffer.alloc(4096 - head.length, 0x41)]));
    assert.equal(r?.text, 'OK\0');
    c.frame(11, Buffer.concat([Buffer.from(head), Buffer.alloc(4097 - head.length, 0x41)]));
    assert.equal(await c.next(), undefined);
    await dom0.rm('/big');
  });

  it('short headers and frames split byte by byte', async () => {
    const short = await RawConn.open(srv.socket);
    short.send(Buffer.from([2, 0, 0, 0, 0, 0]));
    short.close();
    const slow = await RawConn.open(srv.socket);
    const frame = Buffer.alloc(16 + 12);
    frame.writeUInt32LE(2, 0);
    frame.writeUInt32LE(99, 4);
    frame.writeUInt32LE(12, 12);
    frame.write('/sentinel/a\0', 16, 'latin1');
    for (const byte of frame) slow.send(Buffer.from([byte]));
    const m = await slow.next();
    assert.equal(m?.payload.toString(), 'one');
    assert.equal(m?.reqId, 99);
    slow.close();
  });

  it('unknown and server-only types get ENOSYS', async () => {
    const c = await RawConn.open(srv.socket);
    for (const type of [20, 15, 16, 27, 1000, 65535, 0xffffffff]) {
      const r = await c.call(type, 'x\0', { reqId: type });
      assert.deepEqual(r, { type: ERROR, reqId: type >>> 0, txId: 0, text: 'ENOSYS\0' }, `type ${type}`);
    }
    c.close();
  });

  it('bad transaction ids and arguments get errors (SET_PERMS under an @ path: ENOENT, where Xen 4.17 answers a stale errno or dies)', async () => {
    const c = await RawConn.open(srv.socket);
    const expect = async (type: number, payload: string, errno: string, txId = 0): Promise<void> => {
      const r = await c.call(type, payload, { txId });
      assert.equal(r?.type, ERROR, `${type} ${JSON.stringify(payload)}`);
      assert.equal(r.text, `${errno}\0`, `${type} ${JSON.stringify(payload)}`);
      assert.equal(r.txId, txId);
    };
    await expect(2, '/sentinel/a\0', 'ENOENT', 12345);
    await expect(7, 'T\0', 'ENOENT');
    const start = await c.call(6, '\0');
    const tx = Number(start?.text.replace('\0', ''));
    assert.ok(tx > 0);
    await expect(6, '\0', 'EBUSY', tx);
    await expect(7, 'X\0', 'EINVAL', tx);
    await expect(7, 'T', 'EINVAL', tx);
    await expect(2, 'abc', 'EINVAL');
    await expect(2, '', 'EINVAL');
    await expect(2, '/a\0/b\0', 'EINVAL');
    await expect(2, '\0', 'EINVAL');
    await expect(2, '/a//b\0', 'EINVAL');
    await expect(2, '/a/\0', 'EINVAL');
    await expect(2, '/a b\0', 'EINVAL');
    await expect(2, '@introduceDomain\0', 'EINVAL');
    await expect(11, '/nonul', 'EINVAL');
    await expect(4, '/p\0', 'EINVAL');
    await expect(5, '/p\0tok\0', 'ENOENT');
    await expect(14, '/sentinel/a\0', 'EINVAL');
    await expect(14, '/sentinel/a\0q5\0', 'EINVAL');
    await expect(22, '/\0', 'EINVAL');
    // GET_DOMAIN_PATH reads its domid with atoi, as Xen 4.17 does: "dom" is 0.
    assert.equal((await c.call(10, 'dom\0'))?.text, '/local/domain/0\0');
    await expect(13, '/\0', 'EINVAL');
    await expect(9, '0\0', 'EINVAL');
    await expect(9, '77\0', 'ENOENT');
    await expect(0, 'frobnicate\0', 'EINVAL');
    // No such node. Xen 4.17 answers these with a stale errno (one it cannot name kills it).
    await expect(14, '@releaseDomain/3\0b032\0', 'ENOENT');
    await expect(14, '@releaseDomain/3\0n0\0', 'ENOENT');
    assert.equal((await c.call(7, 'F\0', { txId: tx }))?.text, 'OK\0');
    c.close();
  });

  it('privileged-only requests from a domain socket get EACCES', async () => {
    const c = await RawConn.open(srv.domainSocket(9));
    for (const [type, payload] of [[0, 'log\0'], [8, '3\x000\x000\x00'], [9, '9\0'], [17, '9\0'], [18, '9\0'], [19, '9\x001\x00'], [25, '\0'], [26, 'nodes\x001\x00']] as const) {
      const r = await c.call(type, payload);
      assert.equal(r?.text, 'EACCES\0', `type ${type}`);
    }
    assert.equal((await c.call(10, '9\0'))?.text, '/local/domain/9\0');
    c.close();
  });

  it('a flood of watches hits the quota on a domain socket and is fine on the privileged one', async () => {
    const d = await RawConn.open(srv.domainSocket(9));
    const codes: string[] = [];
    for (let i = 0; i < 140; i++) codes.push((await d.call(4, `data\0t${i}\0`))!.text);
    assert.equal(codes.filter((c) => c === 'OK\0').length, 128, 'the watches quota: 128 per domain');
    assert.ok(codes.slice(128).every((c) => c === 'E2BIG\0'));
    d.close();
    const p = await RawConn.open(srv.socket);
    for (let i = 0; i < 3000; i++) p.frame(4, `/flood/${i % 50}\0t${i}\0`, { reqId: i });
    let oks = 0;
    let events = 0;
    while (oks < 3000) {
      const m = await p.next();
      assert.ok(m !== undefined);
      if (m.type === 15) events++;
      else if (m.type === 4) oks++;
    }
    assert.ok(events >= 2999, 'each watch fires once at once');
    await dom0.write('/flood/7', 'x');
    await dom0.write('/flood/7', 'y');
    assert.equal((await p.call(21, '\0'))?.text, 'OK\0');
    p.close();
    await dom0.rm('/flood');
  });

  it('a domain that pipelines thousands of requests without reading gets every reply in order', async () => {
    const c = await RawConn.open(srv.domainSocket(9));
    const n = 3000;
    for (let i = 0; i < n; i++) {
      if (i % 3 === 0) c.frame(11, `data/p${i % 30}\0${'v'.repeat(200)}`, { reqId: i });
      else c.frame(2, 'data\0', { reqId: i });
    }
    const other = await RawConn.open(srv.socket);
    assert.equal((await other.call(2, '/sentinel/a\0'))?.text, 'one');
    for (let i = 0; i < n; i++) {
      const m = await c.next();
      assert.ok(m !== undefined, `closed before reply ${i}`);
      assert.equal(m.reqId, i);
      assert.equal(m.type, i % 3 === 0 ? 11 : 2);
    }
    c.close();
    other.close();
  });

  it('random frames get well-formed replies and change nothing outside the caller\'s rights', async () => {
    const rand = rng(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const chars = 'abz09-_/@ \x01\xff.';
    const randStr = (n: number): string => Array.from({ length: n }, () => pick([...chars])).join('');
    const paths = ['/', '/sentinel', '/sentinel/a', '/sentinel/b', 'data', 'data/x', 'data/y/z', '/local/domain/9', '/local/domain/0', '@introduceDomain', '@releaseDomain', '', '/tool/xenstored'];
    const c = await RawConn.open(srv.domainSocket(9));
    const known = new Set(XS_ERRNOS.map((e) => `${e}\0`));
    for (let i = 0; i < 1500; i++) {
      const type = rand() < 0.9 ? Math.floor(rand() * 28) : Math.floor(rand() * 0xffffffff);
      const parts: string[] = [];
      const nparts = Math.floor(rand() * 4);
      for (let j = 0; j < nparts; j++) parts.push(rand() < 0.6 ? pick(paths) : rand() < 0.5 ? randStr(Math.floor(rand() * 12)) : pick(['T', 'F', 'n9', 'b0', 'r9', '0', '9', '-1', '4096']));
      let payload = Buffer.from(parts.join('\0') + (rand() < 0.8 ? '\0' : ''), 'latin1');
      if (rand() < 0.05) payload = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
      const txId = rand() < 0.8 ? 0 : Math.floor(rand() * 4);
      const r = await c.call(type, payload, { reqId: i, txId });
      assert.ok(r !== undefined, `connection closed at frame ${i}`);
      assert.equal(r.reqId, i);
      assert.equal(r.txId, txId);
      if (r.type === ERROR) assert.ok(known.has(r.text), `unknown error ${JSON.stringify(r.text)}`);
      else assert.equal(r.type, type);
    }
    c.close();
    await assertUnchanged();
    assert.equal(await dom0.readString('/sentinel/a'), 'one');
  });
});
