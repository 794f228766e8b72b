import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { apiRequest } from '../../src/api/index.js';
import type { DomainInfo } from '../../src/api/index.js';
import { startDom0d } from '../../src/daemon/dom0d.js';
import type { DriverContext } from '../../src/daemon/dom0d.js';
import { ProcessOnlyDriver } from '../../src/domain/index.js';
import type { DomainRecord } from '../../src/domain/index.js';

const root = mkdtempSync('/tmp/dom0-inproc-');
after(() => rmSync(root, { recursive: true, force: true }));
const env = {
  DOM0_CONFIG_DIR: join(root, 'etc'),
  DOM0_STATE_DIR: join(root, 'state'),
  DOM0_RUN_DIR: join(root, 'run'),
  DOM0_LOG_DIR: join(root, 'log'),
};
const quiet = (): void => undefined;

/** A driver whose machines all died while dom0d was down (an edge case: no QEMU needed). */
class GoneDriver extends ProcessOnlyDriver {
  readonly seen: string[] = [];
  constructor(readonly ctx: DriverContext) {
    super();
  }
  override adopt(record: DomainRecord): Promise<'alive' | 'gone'> {
    this.seen.push(record.name);
    return Promise.resolve('gone');
  }
}

test('dom0d in process: the driver is built with xenstored and consoles, and decides re-adoption', async () => {
  const first = await startDom0d({ env, log: quiet });
  const sock = first.paths.apiSocket;
  await first.api.registerDomain({ config: { c_info: { name: 'g' }, b_info: { max_memkb: 1024 } } });
  await first.stop();
  assert.equal(existsSync(sock), false);

  let driver: GoneDriver | undefined;
  const second = await startDom0d({ env, log: quiet, driver: (ctx) => (driver = new GoneDriver(ctx)) });
  try {
    assert.equal(driver!.ctx.xenstored.socketPath, join(env.DOM0_RUN_DIR, 'xenstored', 'socket'));
    assert.deepEqual(driver!.seen, ['g']);
    const list = (await apiRequest(sock, 'GET', '/v1/domains')) as DomainInfo[];
    assert.deepEqual(list.map((d) => [d.domid, d.name, d.state, d.shutdownReason]), [[0, 'Domain-0', 'running', null], [1, 'g', 'shutdown', 'crash']]);
    await assert.rejects(apiRequest(sock, 'POST', '/v1/test/domains', {}), (e: unknown) => (e as { code: string }).code === 'USAGE');
  } finally {
    await second.stop();
  }
});
