import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connectToolstack } from './client.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-client-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a dom0d that answers the start-up probe and then stops is a clear DAEMON_UNAVAILABLE, not a bug', async () => {
  // Stands in for bin/dom0d: serves the socket for one connection (the client's probe that a
  // dom0d answers), then closes it and removes it, as a dom0d stopping at that moment does.
  const fake = join(root, 'fake-dom0d.cjs');
  writeFileSync(fake, `
const net = require('node:net');
const fs = require('node:fs');
const path = process.env.DOM0_RUN_DIR + '/api.sock';
const server = net.createServer((c) => { c.destroy(); server.close(); fs.rmSync(path, { force: true }); });
server.listen(path);
setTimeout(() => process.exit(0), 5000).unref();
`);
  const env = {
    ...process.env,
    DOM0_CONFIG_DIR: join(root, 'etc'), DOM0_STATE_DIR: join(root, 'state'), DOM0_RUN_DIR: join(root, 'run'), DOM0_LOG_DIR: join(root, 'log'),
    DOM0_DOM0D: fake, DOM0_START_TIMEOUT_MS: '5000',
  };
  const api = connectToolstack({ env, cwd: root });
  await assert.rejects(api.listDomains(), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'DAEMON_UNAVAILABLE');
    assert.match(e.message, /^Cannot reach dom0d at .*api\.sock: /);
    assert.match(e.hint ?? '', /dom0d\.log/);
    return true;
  });
});
