import { pauseLike } from '../pause-like.js';

/** `xl unpause <Domain>`: resumes the vCPUs (see `pauseLike`). */
export const unpauseCommand = pauseLike('unpause', (api, req) => api.unpauseDomain(req));
