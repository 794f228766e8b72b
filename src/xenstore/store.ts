/**
 * The live node tree: a flat map from absolute path to an immutable node. Parents always exist;
 * a node's `children` lists its child names in creation order (what DIRECTORY returns). Every
 * modification gets a fresh value of a global generation counter (transactions compare these at
 * commit; DIRECTORY_PART reports them). The store counts the nodes each domain owns (entry 0 of
 * the permissions) for the `nodes` quota, and records each change as a journal record.
 */
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

export class Store {
  readonly #nodes = new Map<string, XsNode>();
  readonly #owned = new Map<number, number>();
  #generation = 0;
  #records: StoreRecord[] = [];

  /** A store holding Xen's initial nodes: `/`, `/tool`, `/tool/xenstored` and the specials. */
  static initial(): Store {
    const s = new Store();
    const perms: Perms = [{ id: 0, perm: 'n' }];
    s.set('/', { value: EMPTY, perms, children: ['tool'] });
    s.set('/tool', { value: EMPTY, perms, children: ['xenstored'] });
    s.set('/tool/xenstored', { value: EMPTY, perms, children: [] });
    for (const p of SPECIAL_PATHS) s.set(p, { value: EMPTY, perms, children: [] });
    return s;
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

  #count(node: NodeData | undefined, delta: number): void {
    const owner = node?.perms[0]?.id;
    if (owner === undefined) return;
    const n = (this.#owned.get(owner) ?? 0) + delta;
    if (n === 0) this.#owned.delete(owner);
    else this.#owned.set(owner, n);
  }

  /** Stores the new state of one node (a new generation) and records it. */
  set(path: string, data: NodeData): XsNode {
    const old = this.#nodes.get(path);
    this.#count(old, -1);
    const node: XsNode = { value: data.value, perms: data.perms, children: data.children, generation: this.nextGeneration() };
    this.#nodes.set(path, node);
    this.#count(node, 1);
    this.#records.push({ op: 'put', path, node });
    return node;
  }

  /** Removes the listed nodes (a subtree rooted at `root`) and records one removal of `root`. */
  removeTree(root: string, paths: readonly string[]): void {
    for (const p of paths) this.#drop(p);
    this.#records.push({ op: 'del', path: root });
  }

  #drop(path: string): void {
    const old = this.#nodes.get(path);
    if (old === undefined) return;
    this.#count(old, -1);
    this.#nodes.delete(path);
  }

  /** Records a change that is not a node (domain introduction), to be journalled in order. */
  record(r: StoreRecord): void {
    this.#records.push(r);
  }

  /** The records produced since the last call. */
  takeRecords(): StoreRecord[] {
    const r = this.#records;
    if (r.length > 0) this.#records = [];
    return r;
  }

  /** Every node as `put` records, parents before children, then the special nodes. */
  *dump(): Generator<StoreRecord> {
    const stack = ['/'];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const node = this.#nodes.get(path);
      if (node === undefined) continue;
      yield { op: 'put', path, node };
      for (let i = node.children.length - 1; i >= 0; i--) {
        stack.push(path === '/' ? `/${node.children[i]}` : `${path}/${node.children[i]}`);
      }
    }
    for (const p of SPECIAL_PATHS) {
      const node = this.#nodes.get(p);
      if (node !== undefined) yield { op: 'put', path: p, node };
    }
  }

  /**
   * Applies recovered records without recording them again. `del` removes the whole subtree
   * reachable through children lists. Domain records are returned to the caller.
   */
  replay(records: Iterable<StoreRecord>, onDomain: (r: StoreRecord & { op: 'domain' }) => void): void {
    for (const r of records) {
      if (r.op === 'put') {
        this.#drop(r.path);
        const node: XsNode = { ...r.node, generation: this.nextGeneration() };
        this.#nodes.set(r.path, node);
        this.#count(node, 1);
      } else if (r.op === 'del') {
        const stack = [r.path];
        while (stack.length > 0) {
          const p = stack.pop()!;
          const n = this.#nodes.get(p);
          if (n === undefined) continue;
          for (const c of n.children) stack.push(p === '/' ? `/${c}` : `${p}/${c}`);
          this.#drop(p);
        }
      } else {
        onDomain(r);
      }
    }
    this.#records = [];
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
        const cp = path === '/' ? `/${c}` : `${path}/${c}`;
        if (this.#nodes.has(cp) && !kids.has(c)) {
          kids.add(c);
          stack.push(cp);
        }
      }
      if (kids.size !== node.children.length) this.#nodes.set(path, { ...node, children: [...kids] });
    }
    for (const p of [...this.#nodes.keys()]) if (!reachable.has(p)) this.#drop(p);
    this.#records = [];
  }
}
