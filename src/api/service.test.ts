import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError, resolvePaths } from '../common/index.js';
import { DomainManager } from '../domain/index.js';
import { ToolstackService } from './service.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-service-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function service(): Promise<ToolstackService> {
  const paths = resolvePaths({ DOM0_STATE_DIR: join(root, String(Math.random())) }, { uid: 0, home: '/root', cwd: '/' });
  const manager = await DomainManager.open({ domainsDir: paths.domainsDir });
  return new ToolstackService(manager, { paths, startedAt: 0 });
}

const config = (name: string) => ({ c_info: { name }, b_info: { max_memkb: 262144, target_memkb: 131072, avail_vcpus: [0, 1] } });

test('listDomains() puts Domain-0 (the host) first, then guests in domid order', async () => {
  const s = await service();
  await s.registerDomain({ config: config('b') });
  await s.registerDomain({ config: config('a') });
  const list = await s.listDomains();
  assert.deepEqual(list.map((d) => [d.domid, d.name]), [[0, 'Domain-0'], [1, 'b'], [2, 'a']]);
  assert.ok(list[0]!.memKiB > 0 && list[0]!.vcpus > 0);
  assert.deepEqual([list[1]!.memKiB, list[1]!.vcpus, list[1]!.flags.running], [131072, 2, true]);
  assert.equal((await s.getDomain({ ref: 'Domain-0' })).domid, 0);
  // The stored config is libxl's: what was sent, with libxl's defaults filled in.
  const stored = (await s.getDomainConfig({ ref: 'a' })).config as { c_info: Record<string, unknown>; b_info: Record<string, unknown> };
  assert.deepEqual([stored.c_info.name, stored.c_info.type, stored.b_info.max_memkb, stored.b_info.target_memkb, stored.b_info.max_vcpus], ['a', 'pv', 262144, 131072, 2]);
  assert.match(String(stored.c_info.uuid), /^[0-9a-f]{8}-/);
});

test('debug-keys: no key is nothing to do (as Xen\'s hypercall); too many at once is one line saying so (it was the API\'s schema line)', async () => {
  const s = await service();
  assert.deepEqual(await s.sendDebugKeys({ keys: '' }), { lines: [] });
  await assert.rejects(s.sendDebugKeys({ keys: 'h'.repeat(129) }), (e: unknown) => isToolstackError(e, 'USAGE') && e.message === 'Too many debug keys at once: 129 (at most 128)');
});

test('a create request is checked against the IDL and libxl\'s rules; defaults (memory, MACs) are stored', async () => {
  const s = await service();
  await assert.rejects(s.registerDomain({ config: { c_info: { name: 'x' }, b_info: { bogus: 1 } } }),
    (e: unknown) => isToolstackError(e, 'CONFIG_SCHEMA') && e.message.includes('b_info.bogus'));
  await assert.rejects(s.registerDomain({ config: { c_info: { name: 'x' }, b_info: { max_memkb: 'lots' } } }),
    (e: unknown) => isToolstackError(e, 'CONFIG_SCHEMA') && e.message.includes('b_info.max_memkb'));
  await assert.rejects(s.registerDomain({ config: { c_info: { name: 'x' }, b_info: { max_memkb: 65536, target_memkb: 262144 } } }),
    (e: unknown) => isToolstackError(e, 'CFG_VALUE') && /256 MiB\) is more than its maxmem \(64 MiB/.test(e.message));
  // memory=0: QEMU made a machine of 8 KiB whose guest reset (and was restarted) every 2 s.
  await assert.rejects(s.registerDomain({ config: { c_info: { name: 'x' }, b_info: { target_memkb: 0 } } }),
    (e: unknown) => isToolstackError(e, 'CFG_VALUE') && /its memory is 0 MiB/.test(e.message));
  // More devices than a machine can have: refused before anything is planned or probed (100,000
  // vifs held dom0d for minutes).
  await assert.rejects(s.registerDomain({ config: { c_info: { name: 'x' }, nics: Array.from({ length: 100_000 }, () => ({})) } }),
    (e: unknown) => isToolstackError(e, 'CFG_VALUE') && /it has 100000 nics, more than a machine can have/.test(e.message));
  await assert.rejects(s.registerDomain({ config: { c_info: { name: 'x' }, nics: Array.from({ length: 33 }, () => ({})), disks: Array.from({ length: 33 }, (_, i) => ({ vdev: `xvd${String.fromCharCode(97 + (i % 26))}${i}` })) } }),
    (e: unknown) => isToolstackError(e, 'CFG_VALUE') && /it has 66 disks and vifs/.test(e.message));
  await assert.rejects(s.registerDomain({ config: 'nope' } as never), (e: unknown) => isToolstackError(e, 'CONFIG_SCHEMA'));
  const d = await s.registerDomain({ config: { c_info: { name: 'n' }, nics: [{ bridge: 'br9' }, {}] } });
  assert.equal(d.memKiB, 32768, 'no memory given: libxl\'s 32 MiB, the same figure everywhere');
  const nics = ((await s.getDomainConfig({ ref: 'n' })).config as { nics: Array<{ devid: number; mac: string; bridge: string }> }).nics;
  assert.deepEqual(nics.map((n) => [n.devid, n.bridge]), [[0, 'br9'], [1, 'xenbr0']]);
  for (const n of nics) assert.match(n.mac, /^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
});

test('rename is bookkeeping; lifecycle on Domain-0 and QEMU operations fail with typed errors', async () => {
  const s = await service();
  await s.registerDomain({ config: config('g') });
  assert.equal((await s.renameDomain({ ref: '1', name: 'h' })).name, 'h');
  await assert.rejects(s.renameDomain({ ref: 'h', name: 'Domain-0' }), (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS'));
  await assert.rejects(s.destroyDomain({ ref: '0' }), (e: unknown) =>
    isToolstackError(e, 'NOT_SUPPORTED') && e.lines?.[0] === 'Not destroying domain 0; use -f to force.');
  await assert.rejects(s.pauseDomain({ ref: 'Domain-0' }), (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED'));
  await assert.rejects(s.pauseDomain({ ref: 'h' }), (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED'));
  await assert.rejects(s.createDomain({ config: config('new') }), (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED'));
  await assert.rejects(s.createDomain({ config: { c_info: {} } }), (e: unknown) => isToolstackError(e, 'CFG_VALUE'));
  await assert.rejects(s.getDomain({ ref: '' }), (e: unknown) => isToolstackError(e, 'USAGE'));
  // A machine layout belongs to a state stream; one that is no layout is refused before anything starts.
  const layout = { ramKiB: 131072, pci: [{ id: 'vif0', slot: 5, func: 0 }] };
  await assert.rejects(s.createDomain({ config: config('new'), layout }), (e: unknown) => isToolstackError(e, 'USAGE') && /'layout' goes with 'restore' or 'incoming' only/.test(e.message));
  const restore = { file: join(root, 'no.save'), offset: 52 };
  await assert.rejects(s.createDomain({ config: config('new'), restore, layout: { ...layout, pci: [{ id: 'vif0', slot: 40, func: 0 }] } }),
    (e: unknown) => isToolstackError(e, 'USAGE') && /'layout': .* is not a PCI device's place/.test(e.message));
  await assert.rejects(s.createDomain({ config: config('new'), restore, layout: { pci: [] } as never }), (e: unknown) => isToolstackError(e, 'USAGE') && /ramKiB undefined/.test(e.message));
  const { uuid } = await s.getDomain({ ref: 'h' });
  assert.deepEqual(await s.destroyDomain({ ref: 'h' }), { domid: 1, name: 'h', uuid });
  assert.equal((await s.listDomains()).length, 1);
});

test('destroy by the name of a domain waiting for its restart cancels the restart', async () => {
  const dir = join(root, String(Math.random()));
  const paths = resolvePaths({ DOM0_STATE_DIR: dir }, { uid: 0, home: '/root', cwd: '/' });
  const first = await DomainManager.open({ domainsDir: paths.domainsDir });
  const uuid = '6f1b2a3c-0000-4000-8000-000000000001';
  await first.registry.saveRestart({ init: { config: { c_info: { name: 'r', uuid } } }, at: Date.now() + 60_000, from: 7, keepOld: false });
  const manager = await DomainManager.open({ domainsDir: paths.domainsDir, restartDelayMs: 60_000 });
  assert.equal((await manager.adoptAll()).restarts, 1);
  const s = new ToolstackService(manager, { paths, startedAt: 0 });
  assert.deepEqual(await s.destroyDomain({ ref: 'r' }), { domid: 7, name: 'r', uuid });
  assert.deepEqual(manager.registry.restarts(), []);
  await assert.rejects(s.destroyDomain({ ref: 'r' }), (e: unknown) => isToolstackError(e, 'DOMAIN_NOT_FOUND'));
  await assert.rejects(s.destroyDomain({ ref: '7' }), (e: unknown) => isToolstackError(e, 'DOMAIN_NOT_FOUND'));
});
