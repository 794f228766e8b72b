import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startXenstored } from '../xenstore/index.js';
import type { XenstoreClient, XenstoredHandle } from '../xenstore/index.js';
import { removeDomainLayout, renameDomainLayout, writeDomainLayout } from './xenstore-layout.js';
import type { DomainLayout } from './xenstore-layout.js';

let dir: string;
let xsd: XenstoredHandle;
let xs: XenstoreClient;

before(async () => {
  dir = mkdtempSync('/tmp/dom0-layout-');
  xsd = await startXenstored({ socketPath: join(dir, 'socket'), stateDir: join(dir, 'state') });
  xs = xsd.connect();
});

after(async () => {
  xs.close();
  await xsd.close();
  rmSync(dir, { recursive: true, force: true });
});

const UUID = '5a3c8e51-0000-4000-8000-00000000d0d0';
const VM = `/vm/${UUID}`;
const layout = (domid: number, name: string): DomainLayout => ({
  domid, name, uuid: UUID, type: 'pv', maxMemKiB: 131072, targetMemKiB: 131072, videoMemKiB: 0, maxVcpus: 1, onlineVcpus: 1,
  qemuPid: 100 + domid, consoles: { serial: {} }, cmdline: `console=hvc0 d${domid}`, startTime: 1_000 * domid, devices: [],
});

test('a migration within one host: /vm/<uuid> stays its sender\'s while a receiving domain comes and goes, then follows the one that takes its name', async () => {
  await writeDomainLayout(xs, layout(1, 'loc'));
  const own = { name: 'loc', cmdline: 'console=hvc0 d1', start: await xs.readString(`${VM}/start_time`) };
  const vmNodes = async (): Promise<Record<string, string>> => ({
    name: await xs.readString(`${VM}/name`), cmdline: await xs.readString(`${VM}/image/cmdline`), start: await xs.readString(`${VM}/start_time`),
  });
  // A receiver that fails: its domain shares the uuid, reads /vm, writes nothing there, and its
  // removal leaves it (before, a second receiver's create renamed /vm's name to NAME--incoming
  // for good, under the domain that had completed its migration meanwhile).
  await writeDomainLayout(xs, layout(2, 'loc--incoming'));
  assert.equal(await xs.readString('/local/domain/2/vm'), VM);
  assert.deepEqual(await vmNodes(), own);
  assert.deepEqual(await xs.getPerms(VM), ['n0', 'r1', 'r2']);
  await removeDomainLayout(xs, 2, UUID);
  assert.deepEqual(await vmNodes(), own);
  assert.deepEqual(await xs.getPerms(VM), ['n0', 'r1'], 'a later domain 2 cannot read it');
  // One that succeeds: renamed to the sender's name, which then goes; /vm stays, named.
  await writeDomainLayout(xs, layout(3, 'loc--incoming'));
  await renameDomainLayout(xs, 3, { name: 'loc', uuid: UUID }, UUID);
  await removeDomainLayout(xs, 1, UUID);
  assert.equal(await xs.readString(`${VM}/name`), 'loc');
  assert.equal(await xs.readString('/local/domain/3/name'), 'loc');
  assert.equal(await xs.exists('/local/domain/1'), false);
  assert.deepEqual(await xs.getPerms(VM), ['n0', 'r3']);
  // The last domain naming it takes /vm with it.
  await removeDomainLayout(xs, 3, UUID);
  assert.equal(await xs.exists(VM), false);
});
