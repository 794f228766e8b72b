import type { ServerResponse } from 'node:http';
import { FEED_ROUTES, openApiDocument, sseMessage } from '../api/index.js';
import type { EventFeed, FeedEvent } from '../api/index.js';
import { toJson } from '../common/index.js';
import type { RawHandler } from './http.js';

const DEFAULT_STATS_S = 2;
/** Shortest stats period a client can ask for (each sample asks every domain's QEMU). */
const MIN_STATS_MS = 500;
/**
 * Most output a stream may hold unread before its client is dropped (it can come back with
 * `Last-Event-ID`: the feed replays, or says `gap`).
 */
const MAX_STREAM_BACKLOG = 4 << 20;

/** The longest period between `stats` samples of the feed, s. */
const MAX_STATS_S = 3600;

/**
 * `GET /v1/events` (Server-Sent Events from `feed`, `stats` samples every `?stats=` seconds)
 * and `GET /openapi.json`. `endAll` ends every open event stream (dom0d stopping).
 */
export function feedHandlers(feed: EventFeed, stats: () => Promise<unknown>): { readonly handlers: RawHandler[]; readonly endAll: () => void } {
  const open = new Set<ServerResponse>();
  const events: RawHandler = {
    route: FEED_ROUTES.events,
    handle: (req, res, query) => {
      const sinceText = query.get('since') ?? req.headers['last-event-id'];
      const since = typeof sinceText === 'string' && /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : undefined;
      // At most an hour: a period past Node's longest timer (2^31 ms) would fire every millisecond.
      const every = Math.min(Number(query.get('stats') ?? DEFAULT_STATS_S), MAX_STATS_S);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(`retry: 1000\n\n`);
      const send = (e: FeedEvent): void => {
        if (res.writableEnded || res.destroyed) return;
        if (res.writableLength > MAX_STREAM_BACKLOG) res.destroy();
        else res.write(sseMessage(e));
      };
      const { unsubscribe, gap } = feed.subscribe(since, send);
      if (gap) send({ id: null, event: 'gap', data: { since: since ?? 0, next: feed.nextId } });
      // A sample is skipped while the last one is still being taken or the client has not read it.
      let sampling = false;
      const timer = Number.isFinite(every) && every > 0
        ? setInterval(() => {
          if (sampling || res.writableNeedDrain) return;
          sampling = true;
          stats().then((data) => send({ id: null, event: 'stats', data: data as Record<string, unknown> }), () => undefined).finally(() => {
            sampling = false;
          });
        }, Math.max(MIN_STATS_MS, every * 1000))
        : undefined;
      open.add(res);
      const done = (): void => {
        unsubscribe();
        clearInterval(timer);
        open.delete(res);
      };
      req.on('close', done);
      res.on('error', done);
    },
  };
  const doc: RawHandler = {
    route: FEED_ROUTES.openapi,
    handle: (_req, res) => {
      const text = toJson(openApiDocument());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    },
  };
  return { handlers: [events, doc], endAll: () => { for (const r of open) r.end(); } };
}
