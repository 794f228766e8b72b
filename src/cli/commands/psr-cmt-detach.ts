import { psrCmtAttachLike } from '../psr-cmt.js';

/** `xl psr-cmt-detach <Domain>` (xl_psr.c): see `psrCmtAttachLike`. */
export const psrCmtDetachCommand = psrCmtAttachLike('psr-cmt-detach', 'detach');
