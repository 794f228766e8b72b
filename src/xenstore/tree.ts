/**
 * The node operations of xenstored (read, directory, write, mkdir, rm, permissions) with Xen's
 * permission and quota rules, written once against a `TreeView`: the live store outside a
 * transaction, a transaction's private view inside one. Every check runs before the first
 * change, so a failed operation changes nothing.
 *
 * Error rules (C `get_node` / `errno_from_parents`): a node the caller may not access is EACCES;
 * a missing node is ENOENT if the closest existing ancestor grants the access asked for, else
 * EACCES (so a caller learns nothing about nodes it cannot see). Creation needs write access on
 * the closest existing ancestor; new nodes inherit the parent's permissions, and a node created by
 * an unprivileged domain is owned by that domain.
 */
import { baseName, childPath, parentOf } from './paths.js';
import type { Accessor, Perm, Perms } from './perms.js';
import { PERM_OWNER, PERM_READ, PERM_WRITE, permFor } from './perms.js';
import type { Quotas } from './quota.js';
import type { NodeData, XsNode } from './store.js';
import { nodeSize } from './store.js';
import { PAYLOAD_MAX, XsFault } from './wire.js';

/** A change a watch may fire for, with the permissions needed to decide who may see it. */
export interface ChangeEvent {
  readonly path: string;
  /** Only watches on exactly `path` fire (descendants of a removed subtree). */
  readonly exact: boolean;
  readonly perms?: Perms | undefined;
  readonly parentPerms?: Perms | undefined;
  /** Permissions before a SET_PERMS, so a watcher losing access still hears of it. */
  readonly oldPerms?: Perms | undefined;
}

export interface TreeView {
  get(path: string): XsNode | undefined;
  put(path: string, data: NodeData): void;
  /** Removes `paths` (the whole subtree of `root`, as the caller walked it). */
  removeTree(root: string, paths: readonly string[]): void;
  changed(ev: ChangeEvent): void;
  /** Nodes owned by `domid` as this view sees them. */
  ownedBy(domid: number): number;
}

export interface OpContext {
  readonly view: TreeView;
  readonly who: Accessor;
  readonly quotas: Quotas;
}

const EMPTY = Buffer.alloc(0);

function over(ctx: OpContext, name: 'node-size' | 'nodes' | 'node-permissions', value: number): boolean {
  return !ctx.who.privileged && ctx.quotas.exceeds(name, ctx.who.domid, value);
}

/** Access bits the closest existing ancestor of `path` grants. */
function parentAccess(ctx: OpContext, path: string): number {
  let p = path;
  while (p !== '/') {
    p = parentOf(p);
    const node = ctx.view.get(p);
    if (node !== undefined) return permFor(ctx.who, node.perms);
  }
  return 0;
}

/** The node at `path` if the caller has all of `perm` on it; else EACCES or ENOENT (see above). */
export function getNode(ctx: OpContext, path: string, perm: number): XsNode {
  const node = ctx.view.get(path);
  if (node !== undefined && (permFor(ctx.who, node.perms) & perm) === perm) return node;
  const errno = node === undefined ? 'ENOENT' : 'EACCES';
  throw new XsFault(parentAccess(ctx, path) & perm ? errno : 'EACCES');
}

/** getNode, but undefined where a write would create the node (ENOENT). */
function getForWrite(ctx: OpContext, path: string): XsNode | undefined {
  try {
    return getNode(ctx, path, PERM_WRITE);
  } catch (e) {
    if (e instanceof XsFault && e.errno === 'ENOENT') return undefined;
    throw e;
  }
}

export function readValue(ctx: OpContext, path: string): Buffer {
  return getNode(ctx, path, PERM_READ).value;
}

export function listChildren(ctx: OpContext, path: string): readonly string[] {
  return getNode(ctx, path, PERM_READ).children;
}

export function getPerms(ctx: OpContext, path: string): Perms {
  return getNode(ctx, path, PERM_READ).perms;
}

/**
 * DIRECTORY_PART: `<gen>\0` then the children from byte offset `offset` of the NUL-separated
 * child list, as many whole names as fit, and one more NUL once the end of the list is reached.
 */
export function directoryPart(ctx: OpContext, path: string, offset: number): Buffer {
  const node = getNode(ctx, path, PERM_READ);
  const gen = Buffer.from(`${node.generation}\0`, 'latin1');
  const list = Buffer.from(node.children.map((c) => `${c}\0`).join(''), 'latin1');
  if (offset >= list.length) return Buffer.concat([gen, Buffer.from([0])]);
  const maxLen = PAYLOAD_MAX - gen.length - 1;
  let len = 0;
  for (;;) {
    const nul = list.indexOf(0, offset + len);
    const nameLen = nul - (offset + len);
    if (len + nameLen >= maxLen) break;
    len += nameLen + 1;
    if (offset + len === list.length) break;
  }
  const end = offset + len === list.length;
  return Buffer.concat([gen, list.subarray(offset, offset + len), end ? Buffer.from([0]) : EMPTY]);
}

function inheritPerms(ctx: OpContext, parent: Perms): Perms {
  if (ctx.who.privileged || parent.length === 0) return parent;
  return [{ id: ctx.who.domid, perm: parent[0]!.perm }, ...parent.slice(1)];
}

/** Creates `path` and any missing ancestors; `value` goes on `path`, ancestors get "". */
function create(ctx: OpContext, path: string, value: Buffer): void {
  const missing: string[] = [path];
  let parentPath = parentOf(path);
  let parent = ctx.view.get(parentPath);
  while (parent === undefined) {
    if (parentPath === '/') throw new XsFault('ENOENT');
    missing.push(parentPath);
    parentPath = parentOf(parentPath);
    parent = ctx.view.get(parentPath);
  }
  missing.reverse();
  // Plan every node first so quota failures leave the view untouched.
  const top = baseName(missing[0]!);
  const newParent: NodeData = { ...parent, children: [...parent.children, top] };
  const planned: [string, NodeData][] = [];
  let perms = parent.perms;
  for (let i = 0; i < missing.length; i++) {
    perms = inheritPerms(ctx, perms);
    const next = missing[i + 1];
    planned.push([missing[i]!, {
      value: i === missing.length - 1 ? value : EMPTY,
      perms,
      children: next === undefined ? [] : [baseName(next)],
    }]);
  }
  if (over(ctx, 'nodes', ctx.view.ownedBy(ctx.who.domid) + missing.length)) throw new XsFault('ENOSPC');
  if (over(ctx, 'node-size', nodeSize(newParent)) || planned.some(([, n]) => over(ctx, 'node-size', nodeSize(n)))) {
    throw new XsFault('ENOSPC');
  }
  ctx.view.put(parentPath, newParent);
  for (const [p, n] of planned) ctx.view.put(p, n);
}

function announce(ctx: OpContext, path: string, oldPerms?: Perms): void {
  ctx.view.changed({
    path,
    exact: false,
    perms: ctx.view.get(path)?.perms,
    parentPerms: ctx.view.get(parentOf(path))?.perms,
    oldPerms,
  });
}

/** WRITE: sets the value, creating the node and missing parents. */
export function writeValue(ctx: OpContext, path: string, value: Buffer): void {
  const node = getForWrite(ctx, path);
  if (node === undefined) {
    create(ctx, path, value);
  } else {
    const next: NodeData = { ...node, value };
    if (over(ctx, 'node-size', nodeSize(next))) throw new XsFault('ENOSPC');
    ctx.view.put(path, next);
  }
  announce(ctx, path);
}

/** MKDIR: creates an empty node; nothing happens if it exists. */
export function makeDir(ctx: OpContext, path: string): void {
  if (getForWrite(ctx, path) !== undefined) return;
  create(ctx, path, EMPTY);
  announce(ctx, path);
}

/**
 * RM: removes the node and its subtree. A missing node is fine if its parent exists. Watches
 * fire per removed node, children first; below the removed root only exact watches fire.
 */
export function removeNode(ctx: OpContext, path: string): void {
  const node = getForWrite(ctx, path);
  if (node === undefined) {
    if (path !== '/' && ctx.view.get(parentOf(path)) !== undefined) return;
    throw new XsFault('ENOENT');
  }
  if (path === '/') throw new XsFault('EINVAL');
  const parentPath = parentOf(path);
  const parent = ctx.view.get(parentPath);
  if (parent === undefined) throw new XsFault('EINVAL');
  const order: string[] = [];
  const walk = (p: string, n: XsNode, parentPerms: Perms): void => {
    for (const c of n.children) {
      const cp = childPath(p, c);
      const cn = ctx.view.get(cp);
      if (cn !== undefined) walk(cp, cn, n.perms);
    }
    order.push(p);
    ctx.view.changed({ path: p, exact: p !== path, perms: n.perms, parentPerms });
  };
  walk(path, node, parent.perms);
  ctx.view.removeTree(path, order);
  const name = baseName(path);
  ctx.view.put(parentPath, { ...parent, children: parent.children.filter((c) => c !== name) });
}

/** SET_PERMS: only the owner (or a privileged caller); only privilege may change the owner. */
export function setPerms(ctx: OpContext, path: string, perms: readonly Perm[]): void {
  if (perms.length === 0) throw new XsFault('EINVAL');
  if (over(ctx, 'node-permissions', perms.length)) throw new XsFault('ENOSPC');
  const node = getNode(ctx, path, PERM_WRITE | PERM_OWNER);
  if (!ctx.who.privileged && perms[0]!.id !== node.perms[0]?.id) throw new XsFault('EPERM');
  const next: NodeData = { ...node, perms };
  if (over(ctx, 'node-size', nodeSize(next))) throw new XsFault('ENOSPC');
  ctx.view.put(path, next);
  announce(ctx, path, node.perms);
}
