import { memLike } from '../mem-like.js';

/** `xl mem-max <Domain> <size>`: sets the domain's static maximum (xenstore `memory/static-max`; the RAM of its next boot). */
export const memMaxCommand = memLike('mem-max');
