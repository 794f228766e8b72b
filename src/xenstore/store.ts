/**
 * The live state: a flat map from absolute path to an immutable node, and the introduced
 * domains. Parents always exist; a node's `children` lists its child names in creation order
 * (what DIRECTORY returns). Every modification gets a fresh value of a global generation counter
 * (transactions compare these at commit; DIRECTORY_PART reports them). The store counts the
 * nodes each domain owns (entry 0 of the permissions) for the `nodes` quota, and records each
 * change as a journal record.
 *
 * Until the journal has them on disk, changes can be undone: every change since the last
 * `confirm` is in an undo log, and `rollback` restores the state before them (nodes with their
 * old generations, so a transaction that saw an undone node fails its commit with EAGAIN).
 */
import { childPath } from './paths.js';
import type { Perms } from './perms.js';

export interface NodeData {
  readonly value: Buffer;
  readonly perms: Perms;
  readonly children: readonly string[];
}

export interface XsNode extends NodeData {
  readonly generation: number;
}

/** One durable change: the full new state of a node, the removal of a subtree, or a domain. */
export type StoreRecord =
  | { readonly op: 'put'; readonly path: string; readonly node: NodeData }
  | { readonly op: 'del'; readonly path: string }
  | { readonly op: 'domain'; readonly domid: number; readonly introduced: boolean; readonly target?: number };

export const SPECIAL_PATHS = ['@introduceDomain', '@releaseDomain'] as const;

/** `C calc_node_acc_size`: header, 8 bytes per permission, value, NUL-terminated child names. */
export function nodeSize(node: NodeData): number {
  let size = 16 + 8 * node.perms.length + node.value.length;
  for (const c of node.children) size += c.length + 1;
  return size;
}

const EMPTY = Buffer.alloc(0);

/** An introduced domain as persisted: the domain it may act for (SET_TARGET), if any. */
export interface DomainRecord {
  readonly target: number | undefined;
}

type Undo =
  | { readonly path: string; readonly node: XsNode | undefined }
  | { readonly domid: number; readonly domain: DomainRecord | undefined };

export class Store {
  readonly #nodes = new Map<string, XsNode>();
  readonly #owned = new Map<number, number>();
  readonly #ownedBytes = new Map<number, number>();
  readonly #domains = new Map<number, DomainRecord>();
  #generation = 0;
  #records: StoreRecord[] = [];
  #undo: Undo[] = [];
  /** Undo entries dropped by `confirm` so far: marks count from the store's creation. */
  #undoBase = 0;

  /** A store holding Xen's initial nodes. */
  static initial(): Store {
    const s = new Store();
    s.plantRoot();
    return s;
  }

  /**
   * Without `/` (a fresh or unreadable state), creates Xen's initial nodes: `/`, `/tool`,
   * `/tool/xenstored`, and the special nodes missing.
   */
  plantRoot(): void {
    if (this.#nodes.has('/')) return;
    const perms: Perms = [{ id: 0, perm: 'n' }];
    this.set('/', { value: EMPTY, perms, children: ['tool'] });
    this.set('/tool', { value: EMPTY, perms, children: ['xenstored'] });
    this.set('/tool/xenstored', { value: EMPTY, perms, children: [] });
    for (const p of SPECIAL_PATHS) if (!this.#nodes.has(p)) this.set(p, { value: EMPTY, perms, children: [] });
  }

  nextGeneration(): number {
    return ++this.#generation;
  }

  get(path: string): XsNode | undefined {
    return this.#nodes.get(path);
  }

  /** Nodes owned by `domid`. */
  ownedBy(domid: number): number {
    return this.#owned.get(domid) ?? 0;
  }

  /** Bytes of the nodes owned by `domid` (their paths and `nodeSize`s): what its `memory` quota counts of the tree. */
  bytesOwnedBy(domid: number): number {
    return this.#ownedBytes.get(domid) ?? 0;
  }

  #count(path: string, node: NodeData | undefined, delta: number): void {
    const owner = node?.perms[0]?.id;
    if (owner === undefined) return;
    const n = (this.#owned.get(owner) ?? 0) + delta;
    if (n === 0) this.#owned.delete(owner);
    else this.#owned.set(owner, n);
    const bytes = (this.#ownedBytes.get(owner) ?? 0) + delta * (path.length + nodeSize(node as NodeData));
    if (n === 0) this.#ownedBytes.delete(owner);
    else this.#ownedBytes.set(owner, bytes);
  }

  /** Puts `node` at `path` (undefined: removes it), keeping the ownership counts. */
  #place(path: string, node: XsNode | undefined): void {
    this.#count(path, this.#nodes.get(path), -1);
    if (node === undefined) {
      this.#nodes.delete(path);
    } else {
      this.#nodes.set(path, node);
      this.#count(path, node, 1);
    }
  }

  /** Stores the new state of one node (a new generation) and records it. */
  set(path: string, data: NodeData): XsNode {
    const node: XsNode = { value: data.value, perms: data.perms, children: data.children, generation: this.nextGeneration() };
    this.#undo.push({ path, node: this.#nodes.get(path) });
    this.#place(path, node);
    this.#records.push({ op: 'put', path, node });
    return node;
  }

  /** Removes the listed nodes (a subtree rooted at `root`) and records one removal of `root`. */
  removeTree(root: string, paths: readonly string[]): void {
    for (const p of paths) {
      const old = this.#nodes.get(p);
      if (old === undefined) continue;
      this.#undo.push({ path: p, node: old });
      this.#place(p, undefined);
    }
    this.#records.push({ op: 'del', path: root });
  }

  /** The introduced domains (dom0 is not one) and their targets. */
  domains(): IterableIterator<[number, DomainRecord]> {
    return this.#domains.entries();
  }

  domain(domid: number): DomainRecord | undefined {
    return this.#domains.get(domid);
  }

  /** Records `domid` as introduced (or its new target). */
  setDomain(domid: number, target: number | undefined): void {
    this.#undo.push({ domid, domain: this.#domains.get(domid) });
    this.#domains.set(domid, { target });
    this.#records.push(target === undefined ? { op: 'domain', domid, introduced: true } : { op: 'domain', domid, introduced: true, target });
  }

  /** Records `domid` as released. */
  dropDomain(domid: number): void {
    this.#undo.push({ domid, domain: this.#domains.get(domid) });
    this.#domains.delete(domid);
    this.#records.push({ op: 'domain', domid, introduced: false });
  }

  /** The records produced since the last call. */
  takeRecords(): StoreRecord[] {
    const r = this.#records;
    if (r.length > 0) this.#records = [];
    return r;
  }

  /** Marks the changes made so far, for `confirm`. */
  get changeMark(): number {
    return this.#undoBase + this.#undo.length;
  }

  /** The changes before `mark` are durable: they can no longer be undone. */
  confirm(mark: number): void {
    const n = mark - this.#undoBase;
    if (n <= 0) return;
    if (n >= this.#undo.length) this.#undo = [];
    else this.#undo.splice(0, n);
    this.#undoBase = mark;
  }

  /** Undoes every change not confirmed, newest first. */
  rollback(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) {
      const u = this.#undo[i]!;
      if ('path' in u) this.#place(u.path, u.node);
      else if (u.domain === undefined) this.#domains.delete(u.domid);
      else this.#domains.set(u.domid, u.domain);
    }
    this.#undoBase += this.#undo.length;
    this.#undo = [];
    this.#records = [];
  }

  /** Every node as `put` records, parents before children, then the special nodes and the domains. */
  *dump(): Generator<StoreRecord> {
    const stack = ['/'];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const node = this.#nodes.get(path);
      if (node === undefined) continue;
      yield { op: 'put', path, node };
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(childPath(path, node.children[i]!));
    }
    for (const p of SPECIAL_PATHS) {
      const node = this.#nodes.get(p);
      if (node !== undefined) yield { op: 'put', path: p, node };
    }
    for (const [domid, d] of this.#domains) {
      yield d.target === undefined ? { op: 'domain', domid, introduced: true } : { op: 'domain', domid, introduced: true, target: d.target };
    }
  }

  /**
   * Applies recovered records without recording them again (nor making them undoable). `del`
   * removes the whole subtree reachable through children lists.
   */
  replay(records: Iterable<StoreRecord>): void {
    for (const r of records) {
      if (r.op === 'put') {
        this.#place(r.path, { ...r.node, generation: this.nextGeneration() });
      } else if (r.op === 'del') {
        const stack = [r.path];
        while (stack.length > 0) {
          const p = stack.pop()!;
          const n = this.#nodes.get(p);
          if (n === undefined) continue;
          for (const c of n.children) stack.push(childPath(p, c));
          this.#place(p, undefined);
        }
      } else if (r.introduced) {
        this.#domains.set(r.domid, { target: r.target });
      } else {
        this.#domains.delete(r.domid);
      }
    }
  }

  /**
   * After replay: drops nodes not reachable from `/` (or a special path) and child names
   * without a node, so the tree invariants hold whatever the journal held.
   */
  repair(): void {
    const reachable = new Set<string>(SPECIAL_PATHS);
    const stack = ['/'];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const node = this.#nodes.get(path);
      if (node === undefined || reachable.has(path)) continue;
      reachable.add(path);
      const kids = new Set<string>();
      for (const c of node.children) {
        const cp = childPath(path, c);
        if (this.#nodes.has(cp) && !kids.has(c)) {
          kids.add(c);
          stack.push(cp);
        }
      }
      if (kids.size !== node.children.length) this.#nodes.set(path, { ...node, children: [...kids] });
    }
    for (const p of [...this.#nodes.keys()]) if (!reachable.has(p)) this.#place(p, undefined);
  }
}
