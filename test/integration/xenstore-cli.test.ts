// Debian's xenstore-* clients (xenstore-utils) against dom0's xenstored, on the privileged
// socket and on a domain socket, including a transaction replayed after a real EAGAIN.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XenstoreClient } from '../../src/xenstore/index.js';
import type { XsServer } from './xenstore-harness.js';
import { conflictProxy, haveXenstoreUtils, startServer, xs } from './xenstore-harness.js';

describe('xenstore-utils against dom0 xenstored', { skip: !haveXenstoreUtils && 'xenstore-utils not installed' }, () => {
  let srv: XsServer;
  let dom0: XenstoreClient;
  before(async () => {
    srv = await startServer();
    dom0 = await XenstoreClient.connect(srv.socket);
  });
  after(async () => {
    dom0.close();
    await srv.cleanup();
  });

  it('listens on a 0600 socket', () => {
    assert.equal(statSync(srv.socket).mode & 0o777, 0o600);
  });

  it('write, read, exists, list, ls', async () => {
    const S = srv.socket;
    assert.equal((await xs(S, 'xenstore-write', ['/vm/abc/name', 'hello'])).code, 0);
    assert.equal((await xs(S, 'xenstore-read', ['/vm/abc/name'])).stdout, 'hello\n');
    assert.equal((await xs(S, 'xenstore-read', ['-p', '/vm/abc/name'])).stdout, '/vm/abc/name: hello\n');
    assert.equal((await xs(S, 'xenstore-write', ['/vm/abc/a', '1', '/vm/abc/b', '2'])).code, 0);
    assert.equal((await xs(S, 'xenstore-read', ['/vm/abc/a', '/vm/abc/b'])).stdout, '1\n2\n');
    assert.equal((await xs(S, 'xenstore-exists', ['/vm/abc'])).code, 0);
    assert.equal((await xs(S, 'xenstore-exists', ['/vm/nope'])).code, 1);
    assert.equal((await xs(S, 'xenstore-list', ['/vm/abc'])).stdout, 'name\na\nb\n');
    assert.equal((await xs(S, 'xenstore-ls', ['/vm'])).stdout, 'abc = ""\n name = "hello"\n a = "1"\n b = "2"\n');
    assert.equal((await xs(S, 'xenstore-ls', ['-f', '/vm/abc'])).stdout, '/vm/abc/name = "hello"\n/vm/abc/a = "1"\n/vm/abc/b = "2"\n');
    const missing = await xs(S, 'xenstore-read', ['/nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /couldn't read path \/nope/);
    assert.equal((await xs(S, 'xenstore-write', ['/bin', 'a\\x01b'])).code, 0);
    assert.equal((await xs(S, 'xenstore-read', ['/bin'])).stdout, 'a\\001b\n');
    assert.deepEqual(await dom0.read('/bin'), Buffer.from([0x61, 1, 0x62]));
  });

  it('rm, rm -t (tidy), chmod, chmod -r', async () => {
    const S = srv.socket;
    await xs(S, 'xenstore-write', ['/t/a/b/c', '1', '/t/x', '2']);
    assert.equal((await xs(S, 'xenstore-rm', ['-t', '/t/a/b/c'])).code, 0);
    assert.equal((await xs(S, 'xenstore-ls', ['/t'])).stdout, 'x = "2"\n');
    assert.equal((await xs(S, 'xenstore-rm', ['-t', '/t/x'])).code, 0);
    assert.equal(await dom0.exists('/t'), false);
    assert.equal((await xs(S, 'xenstore-rm', ['/nope/x'])).code, 1);
    assert.equal((await xs(S, 'xenstore-rm', ['/vm/nothing'])).code, 0);
    await xs(S, 'xenstore-write', ['/c/d/e', '1']);
    assert.equal((await xs(S, 'xenstore-chmod', ['-r', '/c', 'n0', 'r5'])).code, 0);
    assert.equal((await xs(S, 'xenstore-ls', ['-p', '/c'])).stdout.replace(/ [. ]+ /g, ' '), 'd = "" (n0,r5)\n e = "1" (n0,r5)\n');
    assert.equal((await xs(S, 'xenstore-chmod', ['/c/d', 'b7'])).code, 0);
    assert.deepEqual(await dom0.getPerms('/c/d'), ['b7']);
    assert.equal((await xs(S, 'xenstore-chmod', ['/c/d', 'x7'])).code, 1);
  });

  it('watch -n prints the immediate event, then every change at or below the path', async () => {
    await dom0.mkdir('/w');
    const proc = spawn('xenstore-watch', ['-n', '4', '/w'], { env: { ...process.env, XENSTORED_PATH: srv.socket } });
    let out = '';
    const first = new Promise<void>((resolve) => proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('/w\n')) resolve();
    }));
    const exited = new Promise<number>((resolve) => proc.once('exit', (c) => resolve(c ?? 1)));
    await first;
    await dom0.write('/w/a', '1');
    await dom0.write('/other', '1');
    await dom0.write('/w/a/deep', '2');
    await dom0.rm('/w/a');
    assert.equal(await exited, 0);
    assert.equal(out, '/w\n/w/a\n/w/a/deep\n/w/a\n');
  });

  it('replays a multi-key transaction after EAGAIN', async () => {
    await dom0.write('/tx/k1', 'old');
    const proxyPath = join(srv.dir, 'proxy.sock');
    const proxy = await conflictProxy(proxyPath, srv.socket, async () => {
      await dom0.write('/tx/k1', 'concurrent');
    });
    try {
      const r = await xs(proxyPath, 'xenstore-write', ['/tx/k1', 'v1', '/tx/k2', 'v2']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.starts(), 2);
      assert.equal(await dom0.readString('/tx/k1'), 'v1');
      assert.equal(await dom0.readString('/tx/k2'), 'v2');
    } finally {
      proxy.server.close();
    }
  });

  it('a domain socket acts as that domain: relative paths, permissions, watches; its chmod of an @ path is EACCES (Xen 4.17: a stale errno)', async () => {
    await dom0.introduce(5);
    await dom0.transaction(async (t) => {
      await t.mkdir('/local/domain/5');
      await t.setPerms('/local/domain/5', ['n0', 'r5']);
      await t.mkdir('/local/domain/5/data');
      await t.setPerms('/local/domain/5/data', ['n5']);
      await t.write('/local/domain/5/name', 'guest');
    });
    await dom0.write('/local/domain/0/secret', 's');
    const D = srv.domainSocket(5);
    assert.equal(statSync(D).mode & 0o777, 0o600);
    assert.equal((await xs(D, 'xenstore-write', ['data/x', '1'])).code, 0);
    assert.equal((await xs(D, 'xenstore-read', ['data/x'])).stdout, '1\n');
    assert.equal((await xs(D, 'xenstore-read', ['name'])).stdout, 'guest\n');
    assert.equal((await xs(D, 'xenstore-read', ['/local/domain/0/secret'])).code, 1);
    assert.equal((await xs(D, 'xenstore-write', ['name', 'evil'])).code, 1);
    assert.equal((await xs(D, 'xenstore-write', ['/evil', '1'])).code, 1);
    assert.equal((await xs(D, 'xenstore-ls', ['data'])).stdout, 'x = "1"\n');
    assert.deepEqual(await dom0.getPerms('/local/domain/5/data/x'), ['n5']);
    assert.equal((await xs(D, 'xenstore-chmod', ['data/x', 'n5', 'r0'])).code, 0);
    assert.equal((await xs(D, 'xenstore-chmod', ['data/x', 'n7'])).code, 1);
    assert.equal((await xs(D, 'xenstore-write', ['data/y', '1', 'data/z', '2'])).code, 0);
    assert.equal((await xs(D, 'xenstore-rm', ['data/y'])).code, 0);
    assert.equal((await xs(D, 'xenstore-list', ['data'])).stdout, 'x\nz\n');
    assert.equal((await xs(D, 'xenstore-write', ['data/t/u/v', '1'])).code, 0);
    assert.equal((await xs(D, 'xenstore-rm', ['-t', 'data/t/u/v'])).code, 0);
    assert.equal(await dom0.exists('/local/domain/5/data/t'), false);
    assert.equal((await xs(D, 'xenstore-exists', ['data/x'])).code, 0);
    assert.equal((await xs(D, 'xenstore-exists', ['data/nope'])).code, 1);
    assert.equal((await xs(D, 'xenstore-write', ['data/a/b', '1'])).code, 0);
    assert.equal((await xs(D, 'xenstore-chmod', ['-r', 'data/a', 'n5', 'r0'])).code, 0);
    assert.deepEqual(await dom0.getPerms('/local/domain/5/data/a/b'), ['n5', 'r0']);
    assert.equal((await xs(D, 'xenstore-rm', ['data/a'])).code, 0);

    const proc = spawn('xenstore-watch', ['-n', '2', 'data'], { env: { ...process.env, XENSTORED_PATH: D } });
    let out = '';
    const first = new Promise<void>((resolve) => proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('data\n')) resolve();
    }));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await first;
    await dom0.write('/local/domain/0/secret', 'hidden');
    await dom0.write('/local/domain/5/data/z', '3');
    await exited;
    assert.equal(out, 'data\ndata/z\n');

    const special = await xs(D, 'xenstore-chmod', ['@releaseDomain', 'r5']);
    assert.equal(special.stderr, 'xenstore-chmod: Error occurred setting permissions on \'@releaseDomain\': Permission denied\n', 'EACCES (Xen 4.17 answers a stale errno)');

    await dom0.release(5);
    assert.equal(await dom0.exists('/local/domain/5/data'), false);
    assert.equal(await dom0.exists('/local/domain/5/name'), true);
    assert.equal((await xs(D, 'xenstore-read', ['name'])).code, 1);
  });

  it('a target dies with its domain: the domain its domid goes to next is not the old target\'s stub domain\'s to read', async () => {
    await dom0.introduce(7);
    await dom0.introduce(8);
    await dom0.setTarget(8, 7);
    await dom0.write('/local/domain/7/data', 'first');
    await dom0.setPerms('/local/domain/7/data', ['n7']);
    const D = srv.domainSocket(8);
    assert.equal((await xs(D, 'xenstore-read', ['/local/domain/7/data'])).stdout, 'first\n');
    await dom0.release(7);
    await dom0.introduce(7);
    await dom0.write('/local/domain/7/data', 'second');
    await dom0.setPerms('/local/domain/7/data', ['n7']);
    assert.equal((await xs(D, 'xenstore-read', ['/local/domain/7/data'])).code, 1, 'a connection made after the release');
    await dom0.release(7);
    await dom0.release(8);
  });

  it('chmod of a missing node under a watched @releaseDomain is ENOENT and the watch lives on (Xen 4.17 asserts and dies)', async () => {
    const proc = spawn('xenstore-watch', ['-n', '2', '@releaseDomain'], { env: { ...process.env, XENSTORED_PATH: srv.socket } });
    let out = '';
    const first = new Promise<void>((resolve) => proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      resolve();
    }));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await first;
    const res = await xs(srv.socket, 'xenstore-chmod', ['@releaseDomain/k', 'n0']);
    assert.deepEqual([res.code, res.stderr], [1, 'xenstore-chmod: Error occurred setting permissions on \'@releaseDomain/k\': No such file or directory\n']);
    await dom0.introduce(6);
    await dom0.release(6);
    await exited;
    assert.equal(out, '@releaseDomain\n@releaseDomain\n');
  });
});
