import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStream } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import { serveApi } from './http.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-http-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('stream routes: 101 then raw bytes both ways; errors before the upgrade are ordinary error replies', async () => {
  const socket = join(dir, 'api.sock');
  const route = { method: 'GET', path: '/v1/things/:ref/stream', protocol: 'dom0-test' } as const;
  const server = await serveApi(socket, [], () => undefined, { streams: [{
    route,
    handle: async (req, s, ready) => {
      if (req.ref === 'missing') throw new ToolstackError('DOMAIN_NOT_FOUND', `No thing '${req.ref}'`, { hint: 'try another' });
      ready();
      s.write(`hello ${req.ref} ${req.q ?? ''}\n`);
      s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    },
  }] });
  try {
    const s = await openStream(socket, '/v1/things/t1/stream?q=7', 'dom0-test');
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
    });
    s.resume();
    s.write('abc');
    for (let i = 0; i < 100 && got !== 'hello t1 7\nABC'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 'hello t1 7\nABC');
    s.destroy();
    await assert.rejects(openStream(socket, '/v1/things/missing/stream', 'dom0-test'), { code: 'DOMAIN_NOT_FOUND', message: "No thing 'missing'", hint: 'try another' });
    await assert.rejects(openStream(socket, '/v1/things/t1/stream', 'other-protocol'), { code: 'USAGE' });
    await assert.rejects(openStream(socket, '/v1/nothing', 'dom0-test'), { code: 'USAGE' });
  } finally {
    await new Promise((r) => server.close(r));
  }
});
