import { pauseLike } from '../pause-like.js';

/** `xl suspend <Domain>`: the guest stops in RAM, shut down with reason suspend (see `pauseLike`). */
export const suspendCommand = pauseLike('suspend', (api, req) => api.suspendDomain(req));
