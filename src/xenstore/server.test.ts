import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XenstoredHandle } from './index.js';
import { startXenstored, XenstoreClient, XenstoreError } from './index.js';

function errnoOf(e: unknown): string {
  return e instanceof XenstoreError ? e.errno : String(e);
}

async function rejects(p: Promise<unknown>, errno: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => errnoOf(e) === errno);
}

describe('xenstored through XenstoreClient', () => {
  let dir: string;
  let xs: XenstoredHandle;
  let dom0: XenstoreClient;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xs-server-'));
    xs = await startXenstored({ socketPath: join(dir, 'run', 'socket'), stateDir: join(dir, 'state'), quotas: { nodes: 20 } });
    dom0 = xs.connect();
  });
  after(async () => {
    dom0.close();
    await xs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a second xenstored on a socket one answers on is refused; the first serves on', async () => {
    await assert.rejects(startXenstored({ socketPath: join(dir, 'run', 'socket'), stateDir: join(dir, 'other-state') }),
      (e: unknown) => (e as { code?: string }).code === 'DAEMON_RUNNING');
    const sock = await XenstoreClient.connect(join(dir, 'run', 'socket'));
    assert.deepEqual(await sock.directory('/'), await dom0.directory('/'));
    sock.close();
  });

  it('reads, writes and lists in process and over the socket', async () => {
    await dom0.write('/a/b', 'v');
    assert.equal(await dom0.readString('/a/b'), 'v');
    const sock = await XenstoreClient.connect(join(dir, 'run', 'socket'));
    assert.deepEqual(await sock.directory('/a'), ['b']);
    assert.equal(await sock.tryRead('/a/zz'), undefined);
    await rejects(sock.read('/a/zz'), 'ENOENT');
    sock.close();
    assert.equal(await dom0.getDomainPath(3), '/local/domain/3');
  });

  it('refuses a request over 4096 bytes before sending it (E2BIG), and goes on', async () => {
    await rejects(dom0.write('/e2big/value', 'x'.repeat(5000)), 'E2BIG');
    await rejects(dom0.transaction(async (t) => t.write('/e2big/value', Buffer.alloc(5000))), 'E2BIG');
    assert.equal(await dom0.exists('/e2big/value'), false);
    await dom0.write('/e2big/value', 'fits');
    assert.equal(await dom0.readString('/e2big/value'), 'fits');
    const sock = await XenstoreClient.connect(join(dir, 'run', 'socket'));
    await rejects(sock.read(`/${'p'.repeat(4200)}`), 'E2BIG');
    assert.equal(await sock.readString('/e2big/value'), 'fits');
    sock.close();
  });

  it('refuses more permission entries than a node state record holds (E2BIG): the journal stays readable', async () => {
    await dom0.write('/manyperms', 'v');
    await rejects(dom0.setPerms('/manyperms', ['n0', ...Array.from({ length: 299 }, (_, i) => `r${i + 1}`)]), 'E2BIG');
    assert.deepEqual(await dom0.getPerms('/manyperms'), ['n0']);
    await dom0.setPerms('/manyperms', ['n0', ...Array.from({ length: 254 }, (_, i) => `r${i + 1}`)]);
    assert.equal((await dom0.getPerms('/manyperms')).length, 255);
    await dom0.rm('/manyperms');
  });

  it('a reply frame over 4096 bytes from a server closes that client, rejecting what was pending', { timeout: 10_000 }, async () => {
    const path = join(dir, 'bogus.sock');
    const bogus = createServer((s) => {
      s.on('data', () => {
        const h = Buffer.alloc(16);
        h.writeUInt32LE(2, 0);
        h.writeUInt32LE(1, 4);
        h.writeUInt32LE(5000, 12);
        s.write(h);
      });
    });
    await new Promise<void>((resolve) => bogus.listen(path, resolve));
    const c = await XenstoreClient.connect(path);
    await rejects(c.read('/x'), 'ECONNRESET');
    await rejects(c.read('/x'), 'ECONNRESET');
    await new Promise<void>((resolve) => bogus.close(() => resolve()));
  });

  it('falls back to DIRECTORY_PART for a child list over 4096 bytes', async () => {
    await dom0.transaction(async (t) => {
      for (let i = 0; i < 400; i++) await t.mkdir(`/big/a-rather-long-child-name-${i}`);
    });
    const names = await dom0.directory('/big');
    assert.equal(names.length, 400);
    assert.equal(names[399], 'a-rather-long-child-name-399');
  });

  it('retries a transaction on EAGAIN', async () => {
    await dom0.write('/counter', '0');
    const other = xs.connect();
    let runs = 0;
    await dom0.transaction(async (t) => {
      runs++;
      const n = Number(await t.readString('/counter'));
      if (runs === 1) await other.write('/counter', '10');
      await t.write('/counter', String(n + 1));
    });
    assert.equal(runs, 2);
    assert.equal(await dom0.readString('/counter'), '11');
    other.close();
  });

  it('delivers watch events as an async iterator', async () => {
    const w = await dom0.watch('/wt');
    assert.deepEqual(await w.next(), { path: '/wt', token: w.token });
    await dom0.write('/wt/x', '1');
    await dom0.transaction(async (t) => {
      await t.write('/wt/y', '1');
      await t.write('/wt/z', '1');
    });
    const got: string[] = [];
    for await (const ev of w) {
      got.push(ev.path);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, ['/wt/x', '/wt/y', '/wt/z']);
    await rejects(dom0.request(5, Buffer.from(`/wt\0${w.token}\0`)), 'ENOENT');
  });

  it('introduces and releases domains with their sockets and special watches', async () => {
    const intro = await dom0.watch('@introduceDomain');
    const rel = await dom0.watch('@releaseDomain');
    await intro.next();
    await rel.next();
    const path = await xs.introduceDomain(7);
    assert.equal(path, join(dir, 'run', 'domain-7.sock'));
    assert.equal((await intro.next()).path, '@introduceDomain');
    assert.equal(await dom0.isDomainIntroduced(7), true);
    assert.equal(await dom0.isDomainIntroduced(8), false);
    await dom0.mkdir('/local/domain/7');
    await dom0.setPerms('/local/domain/7', ['n7']);

    const guest = await XenstoreClient.connect(path);
    await guest.write('data/x', '1');
    assert.deepEqual(await dom0.getPerms('/local/domain/7/data/x'), ['n7']);
    await rejects(guest.read('/a/b'), 'EACCES');
    await rejects(guest.introduce(9), 'EACCES');
    // Quota: 20 nodes for domain 7 (it owns /local/domain/7 and its home's nodes).
    await rejects(guest.transaction(async (t) => {
      for (let i = 0; i < 30; i++) await t.write(`data/n${i}`, 'x');
    }), 'ENOSPC');
    assert.equal(await dom0.getQuota('nodes'), 20);
    await dom0.setQuota('nodes', 100, 7);
    assert.equal(await dom0.getQuota('nodes', 7), 100);
    await guest.transaction(async (t) => {
      for (let i = 0; i < 30; i++) await t.write(`data/n${i}`, 'x');
    });
    const gw = await guest.watch('data');
    assert.deepEqual(await gw.next(), { path: 'data', token: gw.token });
    await dom0.write('/local/domain/7/data/n1', 'y');
    assert.equal((await gw.next()).path, 'data/n1');

    xs.domainShutdown(7);
    assert.equal((await rel.next()).path, '@releaseDomain');
    await dom0.resume(7);
    await dom0.release(7);
    assert.equal((await rel.next()).path, '@releaseDomain');
    await rejects(guest.read('data/x'), 'ECONNRESET');
    assert.equal(await dom0.exists('/local/domain/7'), false);
    await rejects(dom0.release(7), 'ENOENT');
    await intro.close();
    await rel.close();
  });

  it('serves an already open stream as a domain connection', async () => {
    await xs.introduceDomain(6);
    await dom0.mkdir('/local/domain/6');
    await dom0.setPerms('/local/domain/6', ['n6']);
    const path = join(dir, 'agent.sock');
    const listener = createServer((s) => xs.attachStream(s, 6));
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    const agent = await XenstoreClient.connect(path);
    await agent.write('attr/os', 'linux');
    assert.deepEqual(await dom0.getPerms('/local/domain/6/attr/os'), ['n6']);
    await rejects(agent.write('/x', '1'), 'EACCES');
    agent.close();
    listener.close();
    await xs.releaseDomain(6);
  });

  it('a domain holds as many watches and transactions as its quotas say, not one more', async () => {
    await xs.introduceDomain(9);
    await dom0.setQuota('watches', 2, 9);
    await dom0.setQuota('transactions', 2, 9);
    const guest = await XenstoreClient.connect(xs.domainSocketPath(9));
    try {
      await guest.watch('/w1');
      await guest.watch('/w2');
      await rejects(guest.watch('/w3'), 'E2BIG');
      await guest.startTransaction();
      await guest.startTransaction();
      await rejects(guest.startTransaction(), 'ENOSPC');
    } finally {
      guest.close();
      await xs.releaseDomain(9);
    }
  });

  it('a domain at its memory quota is refused writes, watches and transactions (ENOSPC); a removal gives the memory back', async () => {
    await xs.introduceDomain(10);
    await dom0.write('/local/domain/10/data', '');
    await dom0.setPerms('/local/domain/10/data', ['n10']);
    await dom0.setQuota('memory', 8000, 10);
    const guest = await XenstoreClient.connect(xs.domainSocketPath(10));
    try {
      // Values of 1,000 bytes, then smaller ones, until even the smallest is refused.
      let written = 0;
      for (const size of [1000, 100, 10, 1]) {
        let refused: unknown;
        for (let i = 0; i < 20 && refused === undefined; i++) {
          await guest.write(`data/k${written}`, 'v'.repeat(size)).then(() => written++, (e: unknown) => (refused = e));
        }
        assert.equal(errnoOf(refused), 'ENOSPC', `a value of ${size} bytes`);
      }
      assert.ok(written >= 12 && written <= 40, `${written} writes within 8,000 bytes`);
      await rejects(guest.watch('/w'), 'ENOSPC');
      await rejects(guest.startTransaction(), 'ENOSPC');
      await guest.rm('data/k0');
      await guest.rm('data/k1');
      await guest.write('data/again', 'v'.repeat(1000));
      assert.equal(await guest.readString('data/again'), 'v'.repeat(1000));
    } finally {
      guest.close();
      await dom0.rm('/local/domain/10');
      await xs.releaseDomain(10);
    }
  });

  it('answers CONTROL quota and log', async () => {
    assert.match(await dom0.control(['quota']), /^Quota settings:\nnodes {12}: {7}20 /);
    assert.equal(await dom0.control(['quota', 'set', 'watches', '50']), 'OK');
    assert.equal(await dom0.getQuota('watches'), 50);
    await rejects(dom0.control(['quota', 'set', 'nosuch', '5']), 'EINVAL');
    assert.equal(await dom0.control(['log', 'off']), 'OK');
  });

  it('answers GET_QUOTA / SET_QUOTA as C xenstored: soft-memory among the names, known domains only', async () => {
    assert.deepEqual(await dom0.getQuotaNames(), [
      'nodes', 'watches', 'outstanding', 'memory', 'soft-memory', 'transactions', 'transaction-nodes', 'node-permissions', 'path-max', 'node-size',
    ]);
    assert.equal(await dom0.getQuota('soft-memory'), 2 * 1024 * 1024);
    await dom0.setQuota('soft-memory', 3_000_000);
    assert.equal(await dom0.getQuota('soft-memory'), 3_000_000);
    assert.match(await dom0.control(['quota-soft']), /memory {11}:  3000000 /);
    assert.equal(await dom0.getQuota('soft-memory', 0), 3_000_000);
    await xs.introduceDomain(11);
    await dom0.setQuota('soft-memory', 1000, 11);
    assert.equal(await dom0.getQuota('soft-memory', 11), 1000);
    assert.equal(await dom0.getQuota('soft-memory'), 3_000_000);
    await xs.releaseDomain(11);
    await rejects(dom0.getQuota('nodes', 11), 'ENOENT');
    await rejects(dom0.setQuota('nodes', 5, 12), 'ENOENT');
    await rejects(dom0.getQuota('bogus'), 'EINVAL');
    await rejects(dom0.setQuota('nodes', 0xffffffff), 'EINVAL');
    await rejects(dom0.request(25, Buffer.from('0\0nodes\0x\0')), 'EINVAL');
    await dom0.setQuota('soft-memory', 2 * 1024 * 1024);
  });

  it('compacts the journal under load without losing a write', async () => {
    const sub = join(dir, 'compact');
    const opts = { socketPath: join(sub, 'socket'), stateDir: join(sub, 'state'), compactBytes: 4000 };
    let h = await startXenstored(opts);
    await h.introduceDomain(3);
    const c = h.connect();
    await Promise.all(Array.from({ length: 300 }, (_, i) => c.write(`/k/${i % 40}/v${i}`, `value-${i}`)));
    await c.transaction(async (t) => {
      await t.rm('/k/0');
      await t.write('/k/0/again', 'yes');
    });
    c.close();
    await h.close();
    assert.ok(existsSync(join(sub, 'state', 'snapshot')));
    h = await startXenstored(opts);
    const d = h.connect();
    for (let i = 0; i < 300; i++) {
      if (i % 40 !== 0) assert.equal(await d.readString(`/k/${i % 40}/v${i}`), `value-${i}`);
    }
    assert.deepEqual(await d.directory('/k/0'), ['again']);
    assert.equal(await d.isDomainIntroduced(3), true);
    d.close();
    await h.close();
  });

  it('keeps the tree and introduced domains across a restart', async () => {
    await xs.introduceDomain(4);
    await dom0.write('/persist/me', 'yes');
    dom0.close();
    await xs.close();
    xs = await startXenstored({ socketPath: join(dir, 'run', 'socket'), stateDir: join(dir, 'state') });
    dom0 = xs.connect();
    assert.equal(await dom0.readString('/persist/me'), 'yes');
    assert.equal(await dom0.isDomainIntroduced(4), true);
    const guest = await XenstoreClient.connect(xs.domainSocketPath(4));
    assert.equal(await guest.getDomainPath(4), '/local/domain/4');
    guest.close();
  });
});
