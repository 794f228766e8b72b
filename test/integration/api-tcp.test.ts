// The API over TCP (DOM0_API_LISTEN=127.0.0.1:0, a dom0d autostarted by xl): the bearer token
// (STATE_DIR/api-token, 0600) on every request, 401 without it or with a wrong one, `dom0d
// rotate-token` taking effect at once; a state-changing request from a foreign web origin
// refused, the listener's own origin let through; an oversized body refused; 500 idle
// connections leave a real client served; /openapi.json documents every route, and every GET
// route it documents is served; /v1/events pushes lifecycle events as Server-Sent Events and
// replays what a client missed with ?since=; with api_tls_cert/api_tls_key in xl.conf (a
// self-signed certificate made by openssl) the listener is HTTPS. Traffic goes to 127.0.0.1 only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { API_ROUTES } from '../../src/api/index.js';
import { apiUrl, destroyHost, makeHost, readPid, registerDomain, until, xl } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

let host: TestHost;
let url: string;

const token = (): string => readFileSync(join(host.stateDir, 'api-token'), 'utf8').trim();

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await r.text();
  return { status: r.status, json: text === '' ? {} : JSON.parse(text) as Record<string, unknown>, headers: r.headers };
}

const bearer = (): Record<string, string> => ({ Authorization: `Bearer ${token()}` });
const codeOf = (j: Record<string, unknown>): unknown => (j['error'] as { code?: string } | undefined)?.code;

before(async () => {
  host = makeHost();
  host.env['DOM0_API_LISTEN'] = '127.0.0.1:0';
  assert.equal((await xl(host, 'list')).code, 0);
  url = await apiUrl(host);
});

after(async () => {
  await destroyHost(host);
});

test('every request needs the bearer token (0600 in the state dir); rotate-token takes effect at once', async () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(statSync(join(host.stateDir, 'api-token')).mode & 0o777, 0o600);
  const none = await call('GET', '/v1/domains');
  assert.equal(none.status, 401);
  assert.equal(codeOf(none.json), 'API_AUTH');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="dom0"');
  assert.equal(none.headers.get('access-control-allow-origin'), null);
  assert.equal((await call('GET', '/v1/domains', { Authorization: 'Bearer nope' })).status, 401);
  const ok = await call('GET', '/v1/domains', bearer());
  assert.equal(ok.status, 200);
  // The scheme's name is case-insensitive.
  assert.equal((await call('GET', '/v1/domains', { Authorization: `bearer  ${token()}` })).status, 200);
  const old = token();
  execFileSync(join(import.meta.dirname, '..', '..', '..', 'bin', 'dom0d'), ['rotate-token'], { env: host.env });
  assert.notEqual(token(), old);
  assert.equal((await call('GET', '/v1/domains', { Authorization: `Bearer ${old}` })).status, 401);
  assert.equal((await call('GET', '/v1/daemon', bearer())).status, 200);
});

test('a state-changing request from a foreign origin is refused; the listener\'s own origin passes; an oversized body is refused', async () => {
  const foreign = await call('POST', '/v1/domains/nosuch/pause', { ...bearer(), Origin: 'http://evil.example' });
  assert.deepEqual([foreign.status, codeOf(foreign.json)], [403, 'API_ORIGIN']);
  const opaque = await call('POST', '/v1/domains/nosuch/pause', { ...bearer(), Origin: 'null' });
  assert.equal(opaque.status, 403);
  const own = await call('POST', '/v1/domains/nosuch/pause', { ...bearer(), Origin: url });
  assert.deepEqual([own.status, codeOf(own.json)], [404, 'DOMAIN_NOT_FOUND']);
  assert.equal((await call('GET', '/v1/domains', { ...bearer(), Origin: 'http://evil.example' })).status, 200, 'reading is not changing');
  const big = await call('POST', '/v1/domains', { ...bearer(), 'Content-Type': 'application/json' }, `{"config": "${'x'.repeat(17 << 20)}"}`).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  if (!(big instanceof Error)) assert.deepEqual([big.status, codeOf(big.json)], [413, 'API_LIMIT']);
});

test('500 idle connections do not starve a real client', async () => {
  const { port } = new URL(url);
  const idle: Socket[] = await Promise.all(Array.from({ length: 500 }, () => new Promise<Socket>((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  try {
    const t0 = performance.now();
    const r = await call('GET', '/v1/domains', bearer());
    assert.equal(r.status, 200);
    assert.ok(performance.now() - t0 < 5000, 'served while 500 connections sit idle');
  } finally {
    for (const s of idle) s.destroy();
  }
});

test('/openapi.json documents every route; every GET route without parameters it documents is served', async () => {
  const doc = await call('GET', '/openapi.json', bearer());
  assert.equal(doc.status, 200);
  assert.equal(doc.json['openapi'], '3.1.0');
  const paths = doc.json['paths'] as Record<string, Record<string, { operationId: string }>>;
  const ops = new Set(Object.values(paths).flatMap((p) => Object.values(p).map((o) => o.operationId)));
  for (const id of Object.keys(API_ROUTES)) assert.ok(ops.has(id), `${id} is documented`);
  for (const [path, item] of Object.entries(paths)) {
    if (item['get'] === undefined || path.includes('{') || path === '/v1/events') continue;
    const r = await call('GET', path, bearer());
    assert.notEqual(codeOf(r.json), 'USAGE', `${path} is served`);
  }
});

/** Reads Server-Sent Events from `path` until `until` says stop; returns the messages. */
async function events(path: string, headers: Record<string, string>, until: (msgs: Array<{ id?: string; event: string; data: Record<string, unknown> }>) => boolean, action?: () => Promise<void>): Promise<Array<{ id?: string; event: string; data: Record<string, unknown> }>> {
  const ac = new AbortController();
  const r = await fetch(`${url}${path}`, { headers, signal: ac.signal });
  assert.equal(r.headers.get('content-type'), 'text/event-stream');
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  const msgs: Array<{ id?: string; event: string; data: Record<string, unknown> }> = [];
  let buf = '';
  const deadline = setTimeout(() => ac.abort(), 15_000);
  if (action !== undefined) await action();
  try {
    while (!until(msgs)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString();
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
        if (f['event'] !== undefined) msgs.push({ ...(f['id'] === undefined ? {} : { id: f['id'] }), event: f['event'], data: JSON.parse(f['data'] ?? '{}') as Record<string, unknown> });
      }
    }
  } finally {
    clearTimeout(deadline);
    ac.abort();
  }
  return msgs;
}

test('/v1/events pushes lifecycle events; ?since= replays what a client missed', async () => {
  const got = await events('/v1/events?stats=0', bearer(), (m) => m.some((e) => e.event === 'destroyed' && e.data['name'] === 'ev1'), async () => {
    await registerDomain(host, 'ev1');
    assert.equal((await xl(host, 'destroy', 'ev1')).code, 0);
  });
  const mine = got.filter((e) => e.data['name'] === 'ev1');
  assert.deepEqual(mine.map((e) => e.event).filter((e) => e === 'created' || e === 'destroyed'), ['created', 'destroyed']);
  const first = mine[0]?.id;
  assert.ok(first !== undefined);
  const replay = await events(`/v1/events?stats=0&since=${Number(first) - 1}`, bearer(), (m) => m.some((e) => e.event === 'destroyed' && e.data['name'] === 'ev1'));
  assert.deepEqual(replay.filter((e) => e.data['name'] === 'ev1').map((e) => e.id), mine.map((e) => e.id));
  const stats = await events('/v1/events?stats=0.2', bearer(), (m) => m.some((e) => e.event === 'stats'));
  assert.ok(Array.isArray(stats.find((e) => e.event === 'stats')?.data['domains']));
});

test('api_tls_cert and api_tls_key make the listener HTTPS', async () => {
  const tls = makeHost();
  try {
    const cert = join(tls.root, 'cert.pem');
    const key = join(tls.root, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    execFileSync('mkdir', ['-p', join(tls.root, 'etc')]);
    writeFileSync(join(tls.root, 'etc', 'xl.conf'), `api_listen = "127.0.0.1:0"\napi_tls_cert = "${cert}"\napi_tls_key = "${key}"\n`);
    assert.equal((await xl(tls, 'list')).code, 0);
    const tlsUrl = await apiUrl(tls);
    assert.match(tlsUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const tok = readFileSync(join(tls.stateDir, 'api-token'), 'utf8').trim();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${tlsUrl}/v1/domains`, { ca: readFileSync(cert), headers: { Authorization: `Bearer ${tok}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    await destroyHost(tls);
  }
});

test('a certificate that is a FIFO or a device: the API over TCP is off, said in one line; dom0d serves xl', async () => {
  for (const [what, make] of [['FIFO', (f: string) => execFileSync('mkfifo', [f])], ['device', (f: string) => execFileSync('ln', ['-s', '/dev/zero', f])]] as const) {
    const h = makeHost();
    try {
      const cert = join(h.root, `cert-${what}.pem`);
      make(cert);
      execFileSync('mkdir', ['-p', join(h.root, 'etc')]);
      writeFileSync(join(h.root, 'etc', 'xl.conf'), `api_listen = "127.0.0.1:0"\napi_tls_cert = "${cert}"\napi_tls_key = "${cert}"\n`);
      // dom0d read it with readFileSync once its socket listened: a FIFO hung every xl, /dev/zero filled dom0d's memory.
      assert.equal((await xl(h, 'list')).code, 0, what);
      // dom0d serves xl before it tries the TCP listener: its line may come a moment after.
      const said = new RegExp(`the API over TCP is off: Cannot read ${cert}: it is not a plain file`);
      await until(`${what}: the line in dom0d's log`, () => said.test(readFileSync(join(h.logDir, 'dom0d.log'), 'utf8')), 10_000, 20);
    } finally {
      await destroyHost(h);
    }
  }
});

test('the token is the host\'s root: never in clear beyond loopback, nor over half a TLS config; the API over TCP is then off, in one line', async () => {
  for (const [conf, line] of [
    ['api_listen = "0.0.0.0:0"\n', /the API over TCP is off: Listening on 0\.0\.0\.0:0 without TLS would send the API token, the host's root, in clear/],
    ['api_listen = "127.0.0.1:0"\napi_tls_cert = "/nonexistent.pem"\n', /the API over TCP is off: xl\.conf gives api_tls_cert without api_tls_key: the listener would not be HTTPS/],
  ] as const) {
    const h = makeHost();
    try {
      execFileSync('mkdir', ['-p', join(h.root, 'etc')]);
      writeFileSync(join(h.root, 'etc', 'xl.conf'), conf);
      assert.equal((await xl(h, 'list')).code, 0);
      await until(`the line in dom0d's log: ${String(line)}`, () => line.test(readFileSync(join(h.logDir, 'dom0d.log'), 'utf8')), 10_000, 20);
      assert.ok(!existsSync(join(h.runDir, 'api.url')));
    } finally {
      await destroyHost(h);
    }
  }
});

test('a rotated token closes the streams opened with the old one; QEMU\'s monitor is not served over TCP; no token, no kept connection', async () => {
  const monitor = await call('POST', '/v1/domains/0/monitor', { ...bearer(), 'Content-Type': 'application/json' }, '{"command":"info status"}');
  assert.equal(codeOf(monitor.json), 'NOT_SUPPORTED');
  const refused = await call('GET', '/v1/domains');
  assert.equal(refused.headers.get('connection'), 'close');
  const stream = await fetch(`${url}/v1/events?stats=0`, { headers: bearer() });
  assert.equal(stream.status, 200);
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  execFileSync(join(import.meta.dirname, '..', '..', '..', 'bin', 'dom0d'), ['rotate-token'], { env: host.env });
  const started = Date.now();
  // Read until the stream ends (closed by dom0d) or fails; the events before are whatever comes.
  await assert.rejects(async () => {
    for (;;) if ((await reader.read()).done) throw new Error('ended');
  });
  assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
});

test('hostile requests each get one 4xx line, quickly, and dom0d serves on', async () => {
  const pid = readPid(host);
  const json = { ...bearer(), 'Content-Type': 'application/json' };
  const clientError = async (what: string, r: Promise<{ status: number; json: Record<string, unknown> }>): Promise<void> => {
    const started = Date.now();
    const { status, json: body } = await r;
    assert.ok(status >= 400 && status < 500, `${what}: HTTP ${status} ${JSON.stringify(body)}`);
    assert.ok(Date.now() - started < 5000, `${what}: ${Date.now() - started} ms`);
  };
  // Before: a URIError escaped the listener (no token needed for /novnc) and dom0d exited.
  const novnc = await fetch(`${url}/novnc/%E0.js`);
  assert.equal(novnc.status, 404);
  // Before: "Internal error" (the error's own JSON.stringify ran out of stack).
  await clientError('a deeply nested value', call('POST', '/v1/domains/nosuch/rename', json, `{"name":${'['.repeat(20000)}${']'.repeat(20000)}}`));
  // Before: arrays that long were built (the event loop stopped, then the heap ran out).
  await clientError('max_vcpus=2^31-1', call('POST', '/v1/domains', json, JSON.stringify({ config: { c_info: { name: 'huge', type: 'pv' }, b_info: { kernel: '/k', max_vcpus: 2147483647 } } })));
  await clientError('a USB controller of 2^31-1 ports', call('POST', '/v1/domains', json, JSON.stringify({
    config: { c_info: { name: 'huge', type: 'pv' }, b_info: { kernel: '/k' }, usbctrls: [{ type: 'pv', ports: 2147483647 }], usbdevs: [{ type: 'hostdev', hostbus: 1, hostaddr: 2 }] },
  })));
  // Before: 8,000 `+=` took 469 MiB; one 200,000-character unknown key 46 s of "did you mean".
  await clientError('20,000 += joins', call('POST', '/v1/config/parse', json, JSON.stringify({ text: `a=[]\n${'a+=["b"]\n'.repeat(20000)}` })));
  const started = Date.now();
  const long = await call('POST', '/v1/config/parse', json, JSON.stringify({ text: `name="x"\nk${'a'.repeat(200_000)}=1\n` }));
  assert.ok(long.status < 500, JSON.stringify(long.json).slice(0, 300));
  assert.ok(Date.now() - started < 5000, `a long unknown key: ${Date.now() - started} ms`);
  // Before: a file name with a NUL was an internal error (500).
  await clientError('a NUL in a save file name', call('POST', '/v1/domains/nosuch/save', json, JSON.stringify({ file: '/tmp/a\u0000b' })));
  // Before: a stats period past Node's longest timer sampled every millisecond.
  const events = await fetch(`${url}/v1/events?stats=10000000`, { headers: bearer() });
  const reader = (events.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const until = Date.now() + 500;
  while (Date.now() < until) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(r, until - Date.now()))]);
    if (chunk === undefined || chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  await reader.cancel();
  assert.ok((text.match(/event: stats/g) ?? []).length <= 1, text.slice(0, 300));
  // Before: a broken percent-encoding in a WebSocket path was a 500.
  const { port } = new URL(url);
  const upgrade = await new Promise<string>((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => s.write(`GET /v1/domains/%E0/console/ws HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: dom0-console\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16).toString('base64')}\r\n\r\n`));
    let got = '';
    s.on('data', (d: Buffer) => { got += d.toString(); });
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
  assert.match(upgrade, /^HTTP\/1\.1 4\d\d /);
  assert.equal(readPid(host), pid, 'the same dom0d');
  assert.equal((await call('GET', '/v1/domains', bearer())).status, 200);
});
