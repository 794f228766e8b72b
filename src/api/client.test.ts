import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DOM0_BUILD, isToolstackError } from '../common/index.js';
import { connectToolstack, decodeResponse } from './client.js';

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

test('an error from a dom0d of another build says so in its hint (dom0 upgraded, dom0d not restarted); one of this build does not', () => {
  const reply = (build: string): string => `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nX-Dom0-Build: ${build}\r\n\r\n` +
    JSON.stringify({ error: { code: 'USAGE', message: "Bad API request: /layout is not a field here", hint: 'see the API' } });
  assert.throws(() => decodeResponse(reply('0123456789ab')), (e: unknown) => isToolstackError(e, 'USAGE') &&
    e.hint === `see the API; dom0d runs another build of dom0 (0123456789ab) than this xl (${DOM0_BUILD}): restart dom0d to run this one (its domains keep running)`);
  assert.throws(() => decodeResponse(reply(DOM0_BUILD)), (e: unknown) => isToolstackError(e, 'USAGE') && e.hint === 'see the API');
});
