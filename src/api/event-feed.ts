import type { DomainEvent, DomainEvents } from '../domain/index.js';

/** Lifecycle events kept for `?since=` (a client that reconnects gets what it missed). */
const KEPT = 1024;

/**
 * One event of `GET /v1/events`, as Server-Sent Events carry it: `id` (increasing, for
 * `?since=` / `Last-Event-ID`), `event` its name, `data` JSON. Names: `created`, `running`,
 * `paused`, `unpaused`, `shutting-down`, `shutdown` (with Xen's `reason`), `crashed` (a shutdown
 * for a crash, sent after it), `dying`, `destroyed`, `renamed` (with `from`), `adopted` (dom0d
 * found it at start), `device-attached` / `device-detached` (with libxl's `kind` and `devid`),
 * `migration-started` / `migration-completed` / `migration-failed` (with `direction`, `in` or
 * `out`; an outgoing one completed with QEMU's `totalMs`, `downtimeMs`, `ramBytes`, a failed one
 * with its `error`), and `stats` (periodic, no id: not replayed).
 */
export interface FeedEvent {
  readonly id: number | null;
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type FeedListener = (e: FeedEvent) => void;

/** The names a registry event becomes (a crash is a shutdown, then `crashed`). */
function namesOf(e: DomainEvent): string[] {
  switch (e.type) {
    case 'created': return ['created'];
    case 'adopted': return ['adopted'];
    case 'renamed': return ['renamed'];
    case 'destroyed': return ['destroyed'];
    case 'device': return [`device-${e.action}`];
    case 'migration': return [`migration-${e.phase}`];
    case 'state': {
      if (e.to === 'destroyed') return [];
      if (e.to === 'running') return [e.from === 'paused' ? 'unpaused' : 'running'];
      if (e.to === 'shutdown') return e.record.shutdownReason === 'crash' ? ['shutdown', 'crashed'] : ['shutdown'];
      return [e.to];
    }
  }
}

/**
 * The domain events of dom0d as a feed: every lifecycle change numbered and kept (the last
 * `KEPT`), handed to subscribers as it happens.
 */
export class EventFeed {
  readonly #kept: FeedEvent[] = [];
  readonly #listeners = new Set<FeedListener>();
  #next = 1;

  constructor(events: DomainEvents) {
    events.on((e) => {
      const r = e.record;
      const base = { domid: r.domid, name: r.name, uuid: r.uuid, state: r.state, at: Date.now() };
      for (const event of namesOf(e)) {
        const data = {
          ...base,
          ...(e.type === 'state' ? { from: e.from, to: e.to } : {}),
          ...(e.type === 'renamed' ? { from: e.from } : {}),
          ...(e.type === 'device' ? { kind: e.kind, devid: e.devid ?? null } : {}),
          ...(e.type === 'migration' ? { direction: e.direction, ...e.detail } : {}),
          ...(r.state === 'shutdown' ? { reason: r.shutdownReason } : {}),
        };
        this.#publish({ id: this.#next++, event, data });
      }
    });
  }

  /**
   * Calls `listener` with every kept event after `since` (all kept ones when `since` is 0; none
   * when undefined), then with each new one; returns the unsubscribe function. `gap` is true
   * when events after `since` were already dropped (the client missed some).
   */
  subscribe(since: number | undefined, listener: FeedListener): { readonly unsubscribe: () => void; readonly gap: boolean } {
    let gap = false;
    if (since !== undefined) {
      const first = this.#kept[0]?.id ?? this.#next;
      gap = since + 1 < first && since < this.#next - 1;
      for (const e of this.#kept) if ((e.id ?? 0) > since) listener(e);
    }
    this.#listeners.add(listener);
    return { unsubscribe: () => this.#listeners.delete(listener), gap };
  }

  /** The id the next event will have. */
  get nextId(): number {
    return this.#next;
  }

  #publish(e: FeedEvent): void {
    this.#kept.push(e);
    if (this.#kept.length > KEPT) this.#kept.shift();
    for (const l of this.#listeners) l(e);
  }
}

/** `e` as one Server-Sent Events message. */
export function sseMessage(e: FeedEvent): string {
  return `${e.id === null ? '' : `id: ${e.id}\n`}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
