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
  assert.deepEqual((await s.getDomainConfig({ ref: 'a' })).config, config('a'));
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
  const { uuid } = await s.getDomain({ ref: 'h' });
  assert.deepEqual(await s.destroyDomain({ ref: 'h' }), { domid: 1, name: 'h', uuid });
  assert.equal((await s.listDomains()).length, 1);
});
