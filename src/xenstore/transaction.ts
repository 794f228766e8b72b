/**
 * Transactions with optimistic concurrency, as C xenstored does them. The first time a
 * transaction touches a node (every operation reads a node before changing it) it records the
 * node's generation (or its absence) and keeps a private copy; later reads and writes inside the
 * transaction use that copy. At commit every touched node must still have the recorded generation
 * in the live store, else the commit fails with EAGAIN and nothing is applied; otherwise the
 * modified nodes replace the live ones and the queued watch events fire. Read-only transactions
 * are checked the same way.
 */
import { parentOf } from './paths.js';
import type { Perms } from './perms.js';
import type { Quotas } from './quota.js';
import type { NodeData, Store, XsNode } from './store.js';
import { nodeSize } from './store.js';
import type { ChangeEvent, TreeView } from './tree.js';
import { XsFault } from './wire.js';

const ABSENT = -1;

interface Accessed {
  /** Live generation at first access, ABSENT if the node did not exist. */
  readonly generation: number;
  readonly firstPerms: Perms | undefined;
  node: XsNode | undefined;
  modified: boolean;
  /** Watch to fire at commit: undefined none; false any watch at or above; true exact only. */
  fire: boolean | undefined;
}

export class Transaction implements TreeView {
  readonly #accessed = new Map<string, Accessed>();
  readonly #ownedDelta = new Map<number, number>();
  #created = false;
  /** Bytes of the node copies it has made (paths and `nodeSize`s): what its domain's `memory` quota counts of it. */
  #bytes = 0;
  /** While `atomically` runs: how to undo each change made so far, in order. */
  #undo: (() => void)[] | undefined;

  constructor(
    readonly id: number,
    readonly domid: number,
    readonly privileged: boolean,
    private readonly store: Store,
    private readonly quotas: Quotas,
  ) {}

  /**
   * Runs one request's operation on this transaction: when it throws (a quota tripped half way,
   * say), the transaction is left as it was before, no change or watch event of it kept.
   */
  atomically<T>(op: () => T): T {
    const undo: (() => void)[] = [];
    this.#undo = undo;
    try {
      return op();
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw e;
    } finally {
      this.#undo = undefined;
    }
  }

  #entry(path: string): Accessed {
    let a = this.#accessed.get(path);
    if (a === undefined) {
      if (!this.privileged && this.quotas.exceeds('transaction-nodes', this.domid, this.#accessed.size + 1)) {
        throw new XsFault('ENOSPC');
      }
      const live = this.store.get(path);
      a = { generation: live?.generation ?? ABSENT, firstPerms: live?.perms, node: live, modified: false, fire: undefined };
      this.#accessed.set(path, a);
      this.#undo?.push(() => this.#accessed.delete(path));
    }
    return a;
  }

  /** `a` about to change: how to put it back goes on the undo list. */
  #changing(a: Accessed): void {
    const { node, modified, fire } = a;
    const created = this.#created;
    const bytes = this.#bytes;
    this.#undo?.push(() => {
      Object.assign(a, { node, modified, fire });
      this.#created = created;
      this.#bytes = bytes;
    });
  }

  #count(node: NodeData | undefined, delta: number): void {
    const owner = node?.perms[0]?.id;
    if (owner === undefined) return;
    this.#ownedDelta.set(owner, (this.#ownedDelta.get(owner) ?? 0) + delta);
    this.#undo?.push(() => this.#ownedDelta.set(owner, (this.#ownedDelta.get(owner) ?? 0) - delta));
  }

  get(path: string): XsNode | undefined {
    return this.#entry(path).node;
  }

  put(path: string, data: NodeData): void {
    const a = this.#entry(path);
    this.#changing(a);
    if (a.node === undefined) this.#created = true;
    this.#count(a.node, -1);
    this.#bytes += path.length + nodeSize(data);
    a.node = { ...data, generation: this.store.nextGeneration() };
    this.#count(a.node, 1);
    a.modified = true;
  }

  removeTree(_root: string, paths: readonly string[]): void {
    for (const p of paths) {
      const a = this.#entry(p);
      this.#changing(a);
      this.#count(a.node, -1);
      a.node = undefined;
      a.modified = true;
    }
  }

  changed(ev: ChangeEvent): void {
    const a = this.#entry(ev.path);
    this.#changing(a);
    a.fire = a.fire === undefined ? ev.exact : a.fire && ev.exact;
  }

  get bytes(): number {
    return this.#bytes;
  }

  ownedBy(domid: number): number {
    return this.store.ownedBy(domid) + (this.#ownedDelta.get(domid) ?? 0);
  }

  /**
   * Checks and applies the transaction to the live store. Throws EAGAIN on a conflict and ENOSPC
   * if an unprivileged domain would end up over its node quota; returns the watch events.
   */
  commit(): ChangeEvent[] {
    for (const [path, a] of this.#accessed) {
      if ((this.store.get(path)?.generation ?? ABSENT) !== a.generation) throw new XsFault('EAGAIN');
    }
    if (this.#created && !this.privileged && this.quotas.exceeds('nodes', this.domid, this.ownedBy(this.domid))) {
      throw new XsFault('ENOSPC');
    }
    const removed: string[] = [];
    for (const [path, a] of this.#accessed) {
      if (a.modified && a.node === undefined && a.generation !== ABSENT) removed.push(path);
    }
    // One journal removal per removed subtree root; nested removals are covered by it. A root's
    // removed descendants are one run of the sorted paths (those starting `root/`, which sort
    // before `root0`), kept in the order they were removed: a filter of every removed path per
    // root made a guest's commit of a thousand removals stall dom0d for seconds.
    const removedSet = new Set(removed);
    const order = new Map(removed.map((p, i) => [p, i]));
    const sorted = [...removed].sort();
    const firstAtLeast = (key: string): number => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((sorted[mid] as string) < key) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    for (const root of removed) {
      if (removedSet.has(parentOf(root))) continue;
      const sub = [root, ...sorted.slice(firstAtLeast(`${root}/`), firstAtLeast(`${root}0`))];
      this.store.removeTree(root, sub.sort((x, y) => (order.get(x) as number) - (order.get(y) as number)));
    }
    for (const [path, a] of this.#accessed) {
      if (a.modified && a.node !== undefined) this.store.set(path, a.node);
    }
    const events: ChangeEvent[] = [];
    for (const [path, a] of this.#accessed) {
      if (a.fire === undefined) continue;
      events.push({
        path,
        exact: a.fire,
        perms: this.store.get(path)?.perms,
        parentPerms: this.store.get(parentOf(path))?.perms,
        oldPerms: a.firstPerms,
      });
    }
    return events;
  }
}
