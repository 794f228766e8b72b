import { psrCmtAttachLike } from '../psr-cmt.js';

/** `xl psr-cmt-attach <Domain>` (xl_psr.c): see `psrCmtAttachLike`. */
export const psrCmtAttachCommand = psrCmtAttachLike('psr-cmt-attach', 'attach');
