import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { serveApi } from './http.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-http-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** POSTs `body`; resolves with the answer once the request is over (a refused body may still be on its way). */
function post(socketPath: string, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answer: { status: number; text: string } | undefined;
    const req = request({ socketPath, path, method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        answer = { status: res.statusCode ?? 0, text };
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (answer === undefined) reject(e); // after the answer: the rest of a refused body, cut short
    });
    req.on('close', () => {
      if (answer !== undefined) resolve(answer);
    });
    req.end(body);
  });
}

test('request bodies a listener holds at once are bounded over all its connections; what is answered is given back', async () => {
  const socket = join(dir, 'api.sock');
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let arrived = 0;
  const server = await serveApi(socket, [{
    route: { method: 'POST', path: '/v1/hold' },
    handle: async () => {
      arrived++;
      await held;
      return { ok: true };
    },
  }], () => undefined);
  try {
    const body = JSON.stringify({ a: 'x'.repeat(12 << 20) });
    const first = [post(socket, '/v1/hold', body), post(socket, '/v1/hold', body)];
    for (let i = 0; i < 500 && arrived < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(arrived, 2, 'two 12 MiB bodies held');
    const third = await post(socket, '/v1/hold', body);
    assert.equal(third.status, 413);
    assert.match(third.text, /already holds 32 MiB of request bodies/);
    // Another listener (TCP's, the Unix socket's) has its own budget: one cannot crowd out the other.
    const otherSocket = join(dir, 'other.sock');
    const other = await serveApi(otherSocket, [{ route: { method: 'POST', path: '/v1/now' }, handle: () => Promise.resolve({ ok: true }) }], () => undefined);
    try {
      assert.equal((await post(otherSocket, '/v1/now', body)).status, 200);
    } finally {
      await new Promise((r) => other.close(r));
    }
    release();
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
    assert.equal((await post(socket, '/v1/hold', body)).status, 200, 'answered requests give their bytes back');
  } finally {
    await new Promise((r) => server.close(r));
  }
});
