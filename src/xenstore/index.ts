// The xenstore area's public surface: what other areas use of the server (xenstored) and client.
export { startXenstored } from './server.js';
export type { XenstoredHandle } from './server.js';
export { XenstoreClient, XenstoreError } from './client.js';
export type { XsOps } from './client.js';
export { parseQuotaSetting } from './quota.js';
export { readSubtree } from './subtree.js';
export type { XsTreeNode } from './subtree.js';
export type { QuotaName } from './quota.js';
export { XS_ERRNOS } from './wire.js';
