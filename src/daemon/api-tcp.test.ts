import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ToolstackError } from '../common/index.js';
import { MAX_CONNECTIONS, serveApiTcp } from './api-tcp.js';
import type { TcpApi } from './api-tcp.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-api-tcp-'));
const tokenFile = join(dir, 'api-token');
const logged: string[] = [];
let api: TcpApi;

before(async () => {
  api = await serveApiTcp({ host: '127.0.0.1', port: 0 }, tokenFile, [
    { route: { method: 'GET', path: '/v1/ok' }, handle: () => Promise.resolve({ ok: true }) },
    { route: { method: 'GET', path: '/v1/missing-kernel' }, handle: () => Promise.reject(new ToolstackError('GUEST_FILE', 'Cannot read kernel /nope')) },
  ], (l) => logged.push(l), {});
});
after(async () => {
  api.server.closeAllConnections();
  await new Promise((r) => api.server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const token = (): string => readFileSync(tokenFile, 'utf8').trim();

/** Sends `text` on a new connection; resolves with all that comes back until it closes. */
function raw(text: string): Promise<string> {
  const { port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

const get = (path: string, auth?: string): Promise<string> =>
  raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth === undefined ? '' : `Authorization: Bearer ${auth}\r\n`}\r\n`);

test('malformed HTTP is answered 400 (before: the connection was dropped without a word)', async () => {
  assert.match(await raw('GARBAGE / HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
});

test('a client without the token is not told which build dom0d runs; a client error is 4xx, not 500', async () => {
  const refused = await get('/v1/ok');
  assert.match(refused, /^HTTP\/1\.1 401 /);
  assert.doesNotMatch(refused, /x-dom0-build/i);
  const ok = await get('/v1/ok', token());
  assert.match(ok, /^HTTP\/1\.1 200 /);
  assert.match(ok, /x-dom0-build/i);
  assert.match(await get('/v1/missing-kernel', token()), /^HTTP\/1\.1 422 /);
});

test('a token file others can read is refused until it is mode 0600 again', async () => {
  chmodSync(tokenFile, 0o644);
  try {
    const r = await get('/v1/ok', token());
    assert.match(r, /^HTTP\/1\.1 401 /);
    assert.match(r, /open to other users/);
    assert.ok(logged.some((l) => /mode 0644.*open to others/.test(l)), logged.join('\n'));
  } finally {
    chmodSync(tokenFile, 0o600);
  }
  assert.match(await get('/v1/ok', token()), /^HTTP\/1\.1 200 /);
});

test('connections that never show the token cannot keep a client with it out', async () => {
  const { port } = new URL(api.url);
  const idle: Socket[] = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS + 8; i++) {
      idle.push(await new Promise<Socket>((resolve, reject) => {
        const s = connect(Number(port), '127.0.0.1', () => resolve(s));
        s.on('error', () => undefined);
        s.once('error', reject);
      }));
    }
    // Before: every slot held, the next connection was dropped.
    assert.match(await get('/v1/ok', token()), /^HTTP\/1\.1 200 /);
  } finally {
    for (const s of idle) s.destroy();
  }
});
