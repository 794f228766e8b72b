/**
 * Watches. A watch on `P` with a token fires for every change of `P` or a node below it (a
 * removed subtree's descendants fire only watches on exactly their path), with the changed path
 * and the token; a relative watch (registered without a leading `/`) reports paths relative to
 * the connection's home. `@introduceDomain` / `@releaseDomain` fire only through `fireSpecial`.
 *
 * A watcher sees an event only if it may read the node, its parent, or — after a permission
 * change — the node under its old permissions (C `watch_permitted`). Privileged watchers see all.
 */
import { selfAndAncestors } from './paths.js';
import type { Accessor, Perms } from './perms.js';
import { PERM_READ, permFor } from './perms.js';
import type { ChangeEvent } from './tree.js';

export interface Watcher {
  readonly accessor: Accessor;
  /**
   * Queues a WATCH_EVENT for this watcher's connection; `ofFrame` when the change is in the
   * journal frame last appended (so the event goes if that frame fails).
   */
  deliver(path: string, token: string, ofFrame?: boolean): void;
}

export interface Watch {
  readonly owner: Watcher;
  /** Absolute (or `@`-special) path watched. */
  readonly path: string;
  readonly token: string;
  /** Characters to strip from event paths (relative watches). */
  readonly prefixLen: number;
}

function readable(who: Accessor, perms: Perms | undefined): boolean {
  return perms !== undefined && (permFor(who, perms) & PERM_READ) !== 0;
}

function permitted(who: Accessor, ev: ChangeEvent): boolean {
  return who.privileged || readable(who, ev.oldPerms) || readable(who, ev.perms) ||
    (ev.perms !== undefined && readable(who, ev.parentPerms));
}

export class WatchTable {
  readonly #byPath = new Map<string, Set<Watch>>();
  /** Registration order: a connection gets the events of one change in the order of its watches. */
  readonly #order = new Map<Watch, number>();
  #nextOrder = 0;
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(w: Watch): void {
    let set = this.#byPath.get(w.path);
    if (set === undefined) {
      set = new Set();
      this.#byPath.set(w.path, set);
    }
    set.add(w);
    this.#order.set(w, this.#nextOrder++);
    this.#count++;
  }

  remove(w: Watch): void {
    const set = this.#byPath.get(w.path);
    if (set?.delete(w) !== true) return;
    this.#order.delete(w);
    this.#count--;
    if (set.size === 0) this.#byPath.delete(w.path);
  }

  /**
   * Delivers one change to the matching watches, in registration order; as in C xenstored, a
   * connection gets one event for several of its watches that would report the same path and
   * token (say `/` and `/a`, both with token `t`, for a change of `/a/b`).
   */
  fire(ev: ChangeEvent, ofFrame: boolean): void {
    const paths = ev.exact ? [ev.path] : selfAndAncestors(ev.path);
    const hits: Watch[] = [];
    for (const p of paths) {
      const set = this.#byPath.get(p);
      if (set !== undefined) for (const w of set) hits.push(w);
    }
    if (hits.length === 0) return;
    if (hits.length > 1) hits.sort((a, b) => this.#order.get(a)! - this.#order.get(b)!);
    const allowed = new Map<Watcher, boolean>();
    const sent = new Map<Watcher, Set<string>>();
    for (const w of hits) {
      let ok = allowed.get(w.owner);
      if (ok === undefined) {
        ok = permitted(w.owner.accessor, ev);
        allowed.set(w.owner, ok);
      }
      if (!ok) continue;
      const path = ev.path.slice(w.prefixLen);
      if (hits.length > 1) {
        let keys = sent.get(w.owner);
        if (keys === undefined) sent.set(w.owner, (keys = new Set()));
        const key = `${path}\0${w.token}`;
        if (keys.has(key)) continue;
        keys.add(key);
      }
      w.owner.deliver(path, w.token, ofFrame);
    }
  }

  /** Fires `@introduceDomain` / `@releaseDomain` for watchers allowed to read that node. */
  fireSpecial(path: string, perms: Perms | undefined, ofFrame: boolean): void {
    const set = this.#byPath.get(path);
    if (set === undefined) return;
    for (const w of set) {
      if (w.owner.accessor.privileged || readable(w.owner.accessor, perms)) w.owner.deliver(path, w.token, ofFrame);
    }
  }
}
