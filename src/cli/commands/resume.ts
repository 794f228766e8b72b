import { pauseLike } from '../pause-like.js';

/** `xl resume <Domain>`: a suspended domain runs on (see `pauseLike`). */
export const resumeCommand = pauseLike('resume', (api, req) => api.resumeDomain(req));
