import { shutdownLike } from '../shutdown-like.js';

/** `xl reboot [-a|--all] [-w|--wait] [-F] <Domain>` (see `shutdownLike`). */
export const rebootCommand = shutdownLike('Rebooting', (api, req) => api.rebootDomain(req));
