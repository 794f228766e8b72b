import { memLike } from '../mem-like.js';

/** `xl mem-set <Domain> <size>`: moves the domain's balloon target (QMP `balloon`, xenstore `memory/target`). */
export const memSetCommand = memLike('mem-set');
