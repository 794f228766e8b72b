// A request naming a path on a hung mount (an NFS server gone, a FUSE server that stopped
// answering): dom0d looked at such paths with synchronous calls, and the first one blocked its
// event loop for as long as the mount hung: every xl command and every guest's xenstore with it.
// Now the paths a request names are probed first in a child process; a probe not done in 5 s is
// one PATH_HUNG line naming the path, and dom0d serves everyone meanwhile. The mount is a FUSE
// mount this test makes and never answers (test/support/hung-mount.ts); it is undone at the end,
// which fails what still waits on it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureGuests } from '../support/guests.js';
import { hungMount } from '../support/hung-mount.js';
import type { HungMount } from '../support/hung-mount.js';
import { destroyDomains, destroyHost, makeHost, registerDomain, xl } from './daemon-harness.js';

const host = makeHost();
const canMount = process.getuid?.() === 0 && existsSync('/dev/fuse');
let mount: HungMount | undefined;

after(async () => {
  mount?.close();
  await destroyDomains(host);
  await destroyHost(host);
});

test('paths on a hung mount: create, block-attach and save fail with one PATH_HUNG line; dom0d and its xenstored serve meanwhile', { skip: !canMount && 'needs root and /dev/fuse' }, async () => {
  const guests = ensureGuests();
  assert.equal((await xl(host, 'list')).code, 0);
  await registerDomain(host, 'keep');
  mount = hungMount(join(host.root, 'hung'));
  const cfg = join(host.root, 'hung.cfg');
  writeFileSync(cfg, `name = "hung"\nkernel = "${guests.vmlinuz}"\nramdisk = "${guests.initrd}"\nmemory = 64\ndisk = [ "${mount.dir}/disk.raw,raw,xvda,rw" ]\n`);
  const started = Date.now();
  const create = xl(host, 'create', '-p', cfg);
  await new Promise((r) => setTimeout(r, 1000));
  // Both answered nothing until the mount came back.
  const list = await xl(host, 'list');
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^keep /m);
  const read = spawnSync('xenstore-read', ['/local/domain/0/name'], { env: { ...host.env, XENSTORED_PATH: join(host.runDir, 'xenstored', 'socket') }, encoding: 'utf8', timeout: 3000 });
  assert.equal(read.stdout, 'Domain-0\n', read.stderr);
  const created = await create;
  assert.equal(created.code, 3, created.err);
  assert.match(created.err, new RegExp(`^${mount.dir}(/disk\\.raw)? did not answer within 5 s: its file system hangs\\nhint: see the mount`, 'm'));
  assert.ok(Date.now() - started < 15_000);
  // A local overlay whose backing file is on the mount: the file its header names is probed too.
  const overlay = join(host.root, 'overlay.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', `${mount.dir}/base.raw`, overlay, '1M']);
  const viaOverlay = await xl(host, 'block-attach', 'keep', `format=qcow2,vdev=xvdc,access=rw,target=${overlay}`);
  assert.equal(viaOverlay.code, 1, viaOverlay.err);
  assert.match(viaOverlay.err, new RegExp(`^${mount.dir}(/base\\.raw)? did not answer within 5 s: its file system hangs`, 'm'));
  assert.equal((await xl(host, 'list')).code, 0);
  const attach = await xl(host, 'block-attach', 'keep', `format=raw,vdev=xvdb,access=rw,target=${mount.dir}/b.raw`);
  assert.equal(attach.code, 1, attach.err);
  assert.match(attach.err, /did not answer within 5 s: its file system hangs/);
  const save = await xl(host, 'save', '-c', 'keep', `${mount.dir}/keep.save`);
  assert.equal(save.code, 1, save.err);
  assert.match(save.err, /did not answer within 5 s: its file system hangs/);
  const names = (JSON.parse((await xl(host, 'list', '--json')).out) as Array<{ name: string }>).map((d) => d.name);
  assert.deepEqual(names.sort(), ['Domain-0', 'keep']);
});

test("a live domain's image whose mount hangs since it started holds up no other domain: its identity is the one its QEMU opened", { skip: !canMount && 'needs root and /dev/fuse' }, async () => {
  const guests = ensureGuests();
  const dir = join(host.root, 'adir');
  mkdirSync(dir, { recursive: true });
  const disk = (d: string, name: string): string => {
    execFileSync('truncate', ['-s', '1M', join(d, `${name}.raw`)]);
    return join(d, `${name}.raw`);
  };
  const cfg = (name: string, image: string): string => {
    const file = join(host.root, `${name}.cfg`);
    writeFileSync(file, `name = "${name}"\nkernel = "${guests.vmlinuz}"\nramdisk = "${guests.initrd}"\nmemory = 64\ndisk = [ "${image},raw,xvda,rw" ]\n`);
    return file;
  };
  const a = await xl(host, 'create', '-p', cfg('a', disk(dir, 'a')));
  assert.equal(a.code, 0, a.err);
  // Its directory is mounted over by a file system that never answers: a's QEMU keeps the file it opened.
  const over = hungMount(dir);
  try {
    const b = await xl(host, 'create', '-p', cfg('b', disk(host.root, 'b')));
    assert.equal(b.code, 0, b.err);
    const save = await xl(host, 'save', '-c', 'b', join(host.root, 'b.save'));
    assert.equal(save.code, 0, save.err);
    const attach = await xl(host, 'block-attach', 'b', `format=raw,vdev=xvdb,access=rw,target=${disk(host.root, 'c')}`);
    assert.equal(attach.code, 0, attach.err);
    assert.equal((await xl(host, 'destroy', 'a')).code, 0);
    assert.equal((await xl(host, 'destroy', 'b')).code, 0);
  } finally {
    over.close();
  }
});
