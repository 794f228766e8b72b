import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isToolstackError, resolvePaths } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { DomainManager } from '../domain/index.js';
import { startXenstored } from '../xenstore/index.js';
import type { XenstoredHandle } from '../xenstore/index.js';
import { ToolstackService } from './service.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-views-'));
let paths: Dom0Paths;
let xs: XenstoredHandle;
let api: ToolstackService;

before(async () => {
  paths = resolvePaths({ DOM0_STATE_DIR: join(root, 'state'), DOM0_LOG_DIR: join(root, 'log'), DOM0_RUN_DIR: join(root, 'run') }, { uid: 0, home: '/root', cwd: '/' });
  mkdirSync(paths.logDir, { recursive: true });
  xs = await startXenstored({ socketPath: paths.xenstoredSocket, stateDir: join(root, 'state', 'xenstore') });
  api = new ToolstackService(await DomainManager.open({ domainsDir: paths.domainsDir }), { paths, startedAt: 0, xenstore: () => xs.connect() });
  await api.registerDomain({ config: { c_info: { name: 'g' }, b_info: { max_memkb: 65536, target_memkb: 65536 } } });
});
after(async () => {
  await xs.close();
  rmSync(root, { recursive: true, force: true });
});

test('getDomainXenstore: /local/domain/<domid> node by node; nothing for a domain without nodes; unknown domains refused', async () => {
  const c = xs.connect();
  await c.write('/local/domain/1/name', 'g');
  await c.write('/local/domain/1/memory/target', '65536');
  c.close();
  const tree = await api.getDomainXenstore({ ref: 'g' });
  assert.deepEqual([tree.domid, tree.name, tree.path, tree.truncated], [1, 'g', '/local/domain/1', false]);
  assert.deepEqual(tree.nodes.map((n) => [n.path, n.value]), [
    ['/local/domain/1', ''], ['/local/domain/1/name', 'g'], ['/local/domain/1/memory', ''], ['/local/domain/1/memory/target', '65536'],
  ]);
  assert.deepEqual(tree.nodes[1]?.perms, ['n0']);
  assert.deepEqual((await api.getDomainXenstore({ ref: 'Domain-0' })).nodes, []);
  await assert.rejects(api.getDomainXenstore({ ref: 'nope' }), (e: unknown) => isToolstackError(e, 'DOMAIN_NOT_FOUND'));
});

test('getDomainLog: the end of a guest\'s QEMU log, Domain-0\'s dom0d log; empty before there is one', async () => {
  assert.deepEqual(await api.getDomainLog({ ref: 'g' }), { domid: 1, name: 'g', file: join(paths.logDir, 'qemu-g.log'), size: 0, text: '', truncated: false });
  const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i}`).join('\n');
  writeFileSync(join(paths.logDir, 'qemu-g.log'), `${lines}\n`);
  const log = await api.getDomainLog({ ref: '1' });
  assert.equal(log.truncated, true);
  assert.ok(log.text.length <= 64 << 10 && log.text.startsWith('line ') && log.text.endsWith('line 9999\n'));
  writeFileSync(paths.dom0dLog, 'dom0d started\n');
  assert.equal((await api.getDomainLog({ ref: '0' })).text, 'dom0d started\n');
});
