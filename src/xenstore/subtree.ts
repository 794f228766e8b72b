/**
 * A subtree of xenstore as `xenstore-ls -f -p` shows it: every node under a root, the root
 * first, each followed by its children in DIRECTORY order (depth first), with its value and its
 * permissions. Read node by node, outside a transaction: a node removed meanwhile is left out.
 */
import type { XsOps } from './client.js';
import { XenstoreError } from './client.js';
import { childPath } from './paths.js';

/** One node: its absolute path, its value as UTF-8 text, its permissions as the wire gives them (`n0`, `r5`). */
export interface XsTreeNode {
  readonly path: string;
  readonly value: string;
  readonly perms: readonly string[];
}

/** The nodes under `root` (none when it does not exist), at most `maxNodes`; `truncated` when there were more. */
export async function readSubtree(xs: XsOps, root: string, maxNodes: number): Promise<{ nodes: XsTreeNode[]; truncated: boolean }> {
  const nodes: XsTreeNode[] = [];
  let truncated = false;
  const visit = async (path: string): Promise<void> => {
    if (nodes.length === maxNodes) {
      truncated = true;
      return;
    }
    let read;
    try {
      read = await Promise.all([xs.read(path), xs.getPerms(path), xs.directory(path)]);
    } catch (e: unknown) {
      if (e instanceof XenstoreError && e.errno === 'ENOENT') return;
      throw e;
    }
    const [value, perms, children] = read;
    nodes.push({ path, value: value.toString('utf8'), perms });
    for (const child of children) await visit(childPath(path, child));
  };
  await visit(root);
  return { nodes, truncated };
}
