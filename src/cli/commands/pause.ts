import { pauseLike } from '../pause-like.js';

/** `xl pause <Domain>`: stops the vCPUs (see `pauseLike`). */
export const pauseCommand = pauseLike('pause', (api, req) => api.pauseDomain(req));
