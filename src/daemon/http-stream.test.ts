import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
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

test('a refused upgrade is answered and its connection closed, even when the client never closes its side', async () => {
  const socket = join(dir, 'refuse.sock');
  const echo = { route: { method: 'POST', path: '/v1/echo' } as const, handle: (req: Record<string, unknown>) => Promise.resolve(req) };
  const server = await serveApi(socket, [echo], () => undefined, { streams: [] });
  try {
    // 1,024 of these (without a token, over TCP) held every connection the API allows.
    const client = connect({ path: socket, allowHalfOpen: true });
    let answer = '';
    client.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    client.on('error', () => undefined);
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n');
    await ended;
    assert.match(answer, /^HTTP\/1\.1 400 /);
    // Half-open, dom0d would still read this; closed, the write fails and the client closes.
    const closed = new Promise<boolean>((resolve) => {
      client.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000).unref();
    });
    client.write('more');
    assert.equal(await closed, true, 'dom0d closed the connection');
    client.destroy();
    // A body that is not UTF-8 is refused, not read with U+FFFD in it.
    const raw = connect(socket);
    let reply = '';
    raw.on('data', (d: Buffer) => {
      reply += d.toString();
    });
    const body = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff]), Buffer.from('"}')]);
    raw.write(`POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    raw.write(body);
    await new Promise((r) => raw.once('close', r));
    assert.match(reply, /body is not UTF-8/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
