import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { EventFeed } from '../api/index.js';
import { DomainEvents } from '../domain/index.js';
import type { DomainRecord } from '../domain/index.js';
import { feedHandlers } from './feed.js';

test('an event stream whose client stops reading is dropped past its backlog; stats samples never overlap and wait for the reader', async () => {
  const events = new DomainEvents();
  const feed = new EventFeed(events);
  let sampling = 0;
  let overlapped = false;
  let samples = 0;
  const stats = async (): Promise<unknown> => {
    samples++;
    overlapped ||= sampling > 0;
    sampling++;
    await new Promise((r) => setTimeout(r, 700)); // slower than the period asked for
    sampling--;
    return { domains: [] };
  };
  const { handlers } = feedHandlers(feed, stats);
  const events$ = handlers[0];
  assert.ok(events$ !== undefined);
  const server = createServer((req, res) => events$.handle(req, res, new URL(req.url ?? '/', 'http://dom0d').searchParams));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let serverSide: ServerResponse | undefined;
  server.on('request', (_req, res) => (serverSide = res));
  const client = connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  client.write('GET /v1/events?stats=0.1 HTTP/1.1\r\nHost: dom0d\r\n\r\n');
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal(overlapped, false, 'one sample at a time');
  assert.ok(samples >= 2 && samples <= 3, `samples at most every 0.5 s, each waited for (${samples})`);
  client.pause(); // the client stops reading
  const record = { domid: 7, name: 'x'.repeat(60_000), uuid: '00000000-0000-0000-0000-000000000007', state: 'running' } as unknown as DomainRecord;
  const closed = new Promise((r) => serverSide?.on('close', r));
  for (let i = 0; i < 400 && serverSide?.destroyed !== true; i++) {
    events.emit({ type: 'created', record });
    await new Promise((r) => setImmediate(r));
  }
  await closed;
  assert.ok((serverSide?.writableLength ?? 0) <= (4 << 20) + 128 * 1024, 'dropped once 4 MiB were waiting');
  client.destroy();
  await new Promise((r) => server.close(r));
});
