import { shutdownLike } from '../shutdown-like.js';

/** `xl shutdown [-a|--all] [-w|--wait] [-F] <Domain>` (see `shutdownLike`). */
export const shutdownCommand = shutdownLike('Shutting down', (api, req) => api.shutdownDomain(req));
