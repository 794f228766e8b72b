// The xenstore area's public surface: the server (xenstored) and the client.
export { startXenstored } from './server.js';
export type { XenstoredHandle, XenstoredOptions } from './server.js';
export { defaultXenstoredPath, XenstoreClient, XenstoreError } from './client.js';
export type { ClientTransport, WatchEvent, XsOps, XsWatch } from './client.js';
export { QUOTA_DEFAULTS, QUOTA_NAMES, isQuotaName, parseQuotaSetting } from './quota.js';
export type { QuotaName } from './quota.js';
export { XsType, XS_ERRNOS, PAYLOAD_MAX } from './wire.js';
export type { XsErrno } from './wire.js';
